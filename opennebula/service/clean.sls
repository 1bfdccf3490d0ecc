# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Stops and disables the front-end services and the proxy (raft/none). Under
    pacemaker/rgmanager the cluster owns them: stop the cluster resources instead. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- set L = opennebula.lookup %}
{%- if model.stack in ["pacemaker", "rgmanager"] %}
opennebula-service-clean-cluster-managed:
  test.nop: []
{%- else %}
opennebula-service-clean-proxy:
  service.dead:
    - name: {{ L.proxy.services[opennebula.proxy.server] }}
    - enable: false
{%-   for key, svc in L.services | dictsort | reverse if svc %}

opennebula-service-clean-{{ key }}:
  service.dead:
    - name: {{ svc }}
    - enable: false
{%-   endfor %}
{%- endif %}
