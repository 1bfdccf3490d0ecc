# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "opennebula/map.jinja" import model, opennebula with context %}
opennebula-node-placeholder:
  test.nop: []
