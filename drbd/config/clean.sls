# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "drbd/map.jinja" import drbd with context %}
{%- for rname in drbd.resources | sort %}
drbd-config-clean-resource-{{ rname }}:
  file.absent:
    - name: {{ drbd.lookup.config_dir }}/{{ rname }}.res
{%- endfor %}
