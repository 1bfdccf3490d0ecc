# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Removes the formula's proxy config and its certificate/key (packages stay). #}
{%- from "opennebula/map.jinja" import opennebula with context %}
{%- set L = opennebula.lookup %}
opennebula-proxy-clean-conf:
  file.absent:
    - name: {{ L.proxy.conf[opennebula.proxy.server] }}

opennebula-proxy-clean-cert:
  file.absent:
    - name: {{ L.proxy.cert_dir }}
