# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Removes the replication settings file only. The database, its users and the server are
    data and stay (drop them by hand). Restart the server yourself afterwards. #}
{%- from "opennebula/map.jinja" import opennebula with context %}
opennebula-db-clean-replication-conf:
  file.absent:
    - name: {{ opennebula.lookup.db.conf_dir }}/60-opennebula-replication.cnf
