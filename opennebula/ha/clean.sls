# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "opennebula/map.jinja" import model with context %}
{%- if model.is_frontend and model.stack == "pacemaker" %}
include:
  - pacemaker.clean
{%- elif model.is_frontend and model.stack in ["rgmanager", "raft"] %}
include:
  - opennebula.ha.{{ model.stack }}.clean
{%- endif %}
