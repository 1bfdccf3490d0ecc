# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "storage/map.jinja" import model with context %}
include:
  - storage.{{ model.variant }}.clean
