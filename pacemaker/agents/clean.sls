# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Remove the formula's service agent (after pacemaker.resources.clean took the resources
    out of the CIB); the units' drop-ins stay until the units are removed. -#}
{%- from "pacemaker/map.jinja" import pacemaker with context %}
{%- set L = pacemaker.lookup %}

pacemaker-agents-clean-systemdunit:
  file.absent:
    - name: {{ (L.agent_dir ~ "/" ~ L.agent_provider ~ "/SystemdUnit") | tojson }}
