# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Exactly the shared-storage variant picked by storage:variant. #}
{%- from "storage/map.jinja" import model with context %}
include:
  - storage.{{ model.variant }}
