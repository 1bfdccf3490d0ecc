# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Remove what pacemaker.config wrote (corosync.conf, authkey). Run pacemaker.service.clean
    first (pacemaker/clean.sls does): a running corosync keeps its loaded configuration. #}
{%- from "pacemaker/map.jinja" import pacemaker with context %}
pacemaker-config-clean-corosync-conf:
  file.absent:
    - name: {{ pacemaker.lookup.corosync_conf }}

pacemaker-config-clean-authkey:
  file.absent:
    - name: {{ pacemaker.lookup.authkey }}
