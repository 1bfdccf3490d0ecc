# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "pacemaker/map.jinja" import model, pacemaker with context %}
pacemaker-service-placeholder:
  test.nop: []
