# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "pacemaker/map.jinja" import pacemaker with context %}
pacemaker-package-installed:
  pkg.installed:
    - pkgs: {{ pacemaker.lookup.pkgs | tojson }}
