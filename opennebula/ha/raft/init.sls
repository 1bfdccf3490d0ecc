# -*- coding: utf-8 -*-
# vim: ft=sls
{#- OpenNebula's own Raft HA (>= 5.4). oned.conf (opennebula.config) carries FEDERATION
    SERVER_ID (model.raft_server_ids), the RAFT timeouts and RAFT_LEADER_HOOK /
    RAFT_FOLLOWER_HOOK moving the VIPs. Here: the zone's server list, written once from the
    first front-end (onezone server-add, guarded by `unless` the server is listed), in
    SERVER_ID order, after its oned answers (opennebula-service-oned-ready).

    Not automated (lab/runbook): a follower joining an existing zone needs the leader's DB
    (onedb backup on the leader, onedb restore on the follower, same ~oneadmin/.one keys)
    before its oned starts; see the OpenNebula "Front-end HA" guide. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- set L = opennebula.lookup %}
{%- set zone = opennebula.ha.raft.get("zone_id", 0) %}
{%- set port = L.oned.port %}
{%- set one_env = [{"ONE_AUTH": opennebula.oneadmin.home ~ "/.one/one_auth"}, {"ONE_XMLRPC": opennebula.endpoint}] %}
{%- if model.id == model.first_frontend %}
include:
  - opennebula.service
{%- endif %}

opennebula-ha-raft-server-id:
  test.show_notification:
    - text: "raft SERVER_ID {{ model.raft_server_ids[model.id] }} of {{ model.frontends | length }} (zone {{ zone }})"

{%- if model.id == model.first_frontend %}
{%-   set ns = namespace(prev="") %}
{%-   set ordered = [] %}
{%-   for fe in model.frontends %}{%- do ordered.append([model.raft_server_ids[fe], fe]) %}{%- endfor %}
{%-   for sid, fe in ordered | sort %}

opennebula-ha-raft-zone-server-{{ fe }}:
  cmd.run:
    - name: onezone server-add {{ zone }} --name {{ fe }} --rpc http://{{ model.nodes[fe][model.storage_network] }}:{{ port }}/RPC2
    - unless: onezone show {{ zone }} -x | grep -qF '<NAME>{{ fe }}</NAME>'
    - runas: {{ L.oneadmin_user }}
    - env: {{ one_env | tojson }}
    - require:
      - one: opennebula-service-oned-ready
{%-     if ns.prev %}
      - cmd: opennebula-ha-raft-zone-server-{{ ns.prev }}
{%-     endif %}
{%-     set ns.prev = fe %}
{%-   endfor %}
{%- endif %}
