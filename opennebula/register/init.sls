# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "opennebula/map.jinja" import model, opennebula with context %}
opennebula-register-placeholder:
  test.nop: []
