# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Removes the .res files this formula wrote (global_common.conf is the package's file and
    stays). Running resources are not taken down (see drbd/resources/clean.sls). #}
{%- from "drbd/map.jinja" import drbd with context %}
{%- for rname in drbd.resources | sort %}
drbd-config-clean-resource-{{ rname }}:
  file.absent:
    - name: {{ drbd.lookup.config_dir }}/{{ rname }}.res
{%- endfor %}
