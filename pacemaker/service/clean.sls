# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Stop and disable pacemaker, then corosync, on this front-end (its resources move to the
    other front-ends first: pacemaker stops them in order on shutdown). -#}
{%- from "pacemaker/map.jinja" import pacemaker with context %}
pacemaker-service-clean-pacemaker-dead:
  service.dead:
    - name: {{ pacemaker.lookup.pacemaker_service }}
    - enable: false

pacemaker-service-clean-corosync-dead:
  service.dead:
    - name: {{ pacemaker.lookup.corosync_service }}
    - enable: false
    - require:
      - service: pacemaker-service-clean-pacemaker-dead
