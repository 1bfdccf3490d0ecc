# -*- coding: utf-8 -*-
# vim: ft=sls
{#- corosync + pacemaker on the front-ends (opennebula:ha:stack pacemaker) and the resource
    graph of the Pacemaker/DRBD guide built from the high-level pillar. #}
{%- from "pacemaker/map.jinja" import model with context %}
{%- if model.is_frontend and model.stack == "pacemaker" %}
include:
  - pacemaker.package
  - pacemaker.config
  - pacemaker.sbd
  - pacemaker.service
  - pacemaker.agents
  - pacemaker.resources
{%- endif %}
