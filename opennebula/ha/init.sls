# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The front-end HA stack picked by opennebula:ha:stack. #}
{%- from "opennebula/map.jinja" import model with context %}
{%- if model.is_frontend and model.stack == "pacemaker" %}
include:
  - pacemaker
{%- elif model.is_frontend and model.stack in ["rgmanager", "raft"] %}
include:
  - opennebula.ha.{{ model.stack }}
{%- endif %}
