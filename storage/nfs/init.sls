# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "storage/map.jinja" import model, storage with context %}
{%- if model.roles %}
storage-nfs-placeholder:
  test.nop: []
{%- endif %}
