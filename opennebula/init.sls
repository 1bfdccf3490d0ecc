# -*- coding: utf-8 -*-
# vim: ft=sls
{#- opennebula: the whole cluster from one top-file entry. Every included part selects
    itself by this minion's roles (cluster:frontends/hypervisors/storage_servers). #}
{%- from "opennebula/map.jinja" import model with context %}
include:
  - opennebula.host
  - storage
{%- if model.is_frontend %}
  - opennebula.package
  - opennebula.oneadmin
  - opennebula.db
  - opennebula.config
  - opennebula.node.kvmrc
  - opennebula.proxy
  - opennebula.service
{#- the HA stack last: its cluster resources start services that must be installed first #}
  - opennebula.ha
  - opennebula.register
{#- VMs a front-end failover left in transient states: reported (the default policy changes
    nothing) or recovered per opennebula:recover_transient #}
  - opennebula.recover
{%- elif model.is_hypervisor %}
  - opennebula.oneadmin
{%- endif %}
{%- if model.is_hypervisor %}
  - opennebula.node
{%- endif %}
{%- set fence_xvm = model.settings.opennebula.ha.rgmanager.fence_xvm %}
{%- if model.stack == "rgmanager" and fence_xvm.enabled and fence_xvm.host == model.id %}
  - opennebula.ha.rgmanager.fence_virtd
{%- endif %}
