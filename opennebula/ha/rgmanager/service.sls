# -*- coding: utf-8 -*-
# vim: ft=sls
{#- ricci, cman and rgmanager enabled and running (the Red Hat cluster guide: chkconfig ... on).
    The OpenNebula services themselves are started by rgmanager, never at boot. #}
{%- from "opennebula/map.jinja" import opennebula with context %}
{%- for svc in opennebula.lookup.rgmanager.services %}
opennebula-ha-rgmanager-service-{{ svc }}:
  service.running:
    - name: {{ svc }}
    - enable: true
    - require:
      - pkg: opennebula-ha-rgmanager-pkgs
{%-   if not loop.first %}
      - service: opennebula-ha-rgmanager-service-{{ loop.previtem }}
{%-   endif %}
{%- endfor %}
