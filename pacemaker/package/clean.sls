# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "pacemaker/map.jinja" import pacemaker with context %}
pacemaker-package-clean-removed:
  pkg.removed:
    - pkgs: {{ pacemaker.lookup.pkgs | tojson }}
