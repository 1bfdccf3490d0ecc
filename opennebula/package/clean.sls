# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "opennebula/map.jinja" import opennebula with context %}
opennebula-package-clean-frontend:
  pkg.removed:
    - pkgs: {{ opennebula.lookup.pkgs_frontend | tojson }}
