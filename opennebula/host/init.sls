# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Host baseline on every node: /etc/hosts names for every node and VIP on every network
    (seed 000), short and per-network FQDN names. #}
{%- from "opennebula/map.jinja" import model with context %}
{%- set C = model.settings.cluster %}
{%- for node, addrs in model.nodes | dictsort %}
{%-   for net, ip in addrs | dictsort %}
{%-     set dom = C.network_domains.get(net, C.domain) %}
opennebula-host-hosts-{{ node }}-{{ net }}:
  host.only:
    - name: {{ ip }}
    - hostnames:
      - {{ node }}.{{ dom }}
{%-     if net == model.storage_network %}
      - {{ node }}
{%-     endif %}
{%-   endfor %}
{%- endfor %}
{%- if C.vip_name %}
{%-   for net, ip in C.vips | dictsort %}
{%-     set dom = C.network_domains.get(net, C.domain) %}
opennebula-host-hosts-vip-{{ net }}:
  host.only:
    - name: {{ ip }}
    - hostnames:
      - {{ C.vip_name }}.{{ dom }}
{%-     if loop.first %}
      - {{ C.vip_name }}
{%-     endif %}
{%-   endfor %}
{%- endif %}
