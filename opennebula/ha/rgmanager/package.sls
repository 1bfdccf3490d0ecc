# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Packages and the ricci password (the Red Hat cluster guide: `passwd ricci`, the same on
    every node). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
opennebula-ha-rgmanager-pkgs:
  pkg.installed:
    - pkgs: {{ opennebula.lookup.rgmanager.pkgs | tojson }}

opennebula-ha-rgmanager-ricci-password:
  user.present:
    - name: ricci
    - password: {{ salt["pillar.get"](model.secret_refs.ricci_password) | tojson }}
    - hash_password: true
    - createhome: false
    - require:
      - pkg: opennebula-ha-rgmanager-pkgs
