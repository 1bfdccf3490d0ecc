# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Seed 002: cman/rgmanager/ccs front-end HA (RedHat family 6; model.jinja refuses others). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
opennebula-ha-rgmanager-pkgs:
  pkg.installed:
    - pkgs: {{ opennebula.lookup.rgmanager.pkgs | tojson }}
