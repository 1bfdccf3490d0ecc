# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "drbd/map.jinja" import drbd with context %}
drbd-package-clean-removed:
  pkg.removed:
    - pkgs: {{ drbd.lookup.pkgs | tojson }}
