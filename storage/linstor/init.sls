# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "storage/map.jinja" import model, storage with context %}
{%- if model.roles %}
storage-linstor-placeholder:
  test.nop: []
{%- endif %}
