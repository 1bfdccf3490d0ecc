# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "opennebula/map.jinja" import model with context %}
{%- for node, addrs in model.nodes | dictsort %}
{%-   for net, ip in addrs | dictsort %}
opennebula-host-clean-hosts-{{ node }}-{{ net }}:
  host.only:
    - name: {{ ip }}
    - hostnames: []
{%-   endfor %}
{%- endfor %}
