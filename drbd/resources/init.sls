# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "drbd/map.jinja" import model, drbd with context %}
{%- for rname in drbd.resources | sort %}
drbd-resource-up-{{ rname }}:
  test.nop: []
{%- endfor %}
