# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "opennebula/map.jinja" import opennebula with context %}
{%- for svc in opennebula.lookup.rgmanager.services %}
opennebula-ha-rgmanager-{{ svc }}-dead:
  service.dead:
    - name: {{ svc }}
    - enable: false
{%- endfor %}
