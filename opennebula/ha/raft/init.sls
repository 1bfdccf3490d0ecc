# -*- coding: utf-8 -*-
# vim: ft=sls
{#- OpenNebula's own Raft HA (>= 5.4): FEDERATION SERVER_ID, RAFT settings, zone servers,
    the leader hook moving the VIP. oned.conf is rendered by opennebula.config with these. #}
{%- from "opennebula/map.jinja" import model with context %}
opennebula-ha-raft-server-id:
  test.show_notification:
    - text: "raft SERVER_ID {{ model.raft_server_ids[model.id] }} of {{ model.frontends | length }}"
