# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Keeps the oneadmin account (it owns data on shared storage); removes only its key. #}
{%- from "opennebula/map.jinja" import opennebula with context %}
opennebula-oneadmin-clean-ssh-private-key:
  file.absent:
    - name: {{ opennebula.oneadmin.home }}/.ssh/id_ed25519
