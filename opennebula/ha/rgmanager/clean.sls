# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Stops the cluster suite on this node. cluster.conf is kept (it is the cluster's record). #}
{%- from "opennebula/map.jinja" import opennebula with context %}
{%- for svc in opennebula.lookup.rgmanager.services | reverse %}
opennebula-ha-rgmanager-clean-{{ svc }}-dead:
  service.dead:
    - name: {{ svc }}
    - enable: false
{%- endfor %}
