# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Removes what `opennebula` manages on this minion (services stopped first). Data
    (databases, datastores, DRBD devices) is never removed. #}
{%- from "opennebula/map.jinja" import model with context %}
include:
{%- if model.is_frontend %}
  - opennebula.service.clean
  - opennebula.proxy.clean
  - opennebula.config.clean
  - opennebula.ha.clean
{%- endif %}
{%- if model.is_hypervisor %}
  - opennebula.node.clean
{%- endif %}
  - storage.clean
  - opennebula.host.clean
