# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "storage/map.jinja" import model, storage with context %}
{%- if model.roles %}
storage-ssh-placeholder:
  test.nop: []
{%- endif %}
