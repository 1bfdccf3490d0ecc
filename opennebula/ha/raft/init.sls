# -*- coding: utf-8 -*-
# vim: ft=sls
{#- OpenNebula's own Raft HA (>= 5.4). oned.conf (opennebula.config) carries FEDERATION
    SERVER_ID (model.raft_server_ids), the RAFT timeouts and RAFT_LEADER_HOOK /
    RAFT_FOLLOWER_HOOK moving the VIPs. Here: the zone's server list, written once from the
    first front-end (onezone server-add, guarded by `unless` one.zone_server_listed: the server is in one.zone.info's pool), in
    SERVER_ID order, after its oned answers (opennebula-service-oned-ready).

    Not automated (lab/runbook): a follower joining an existing zone needs the leader's DB
    (onedb backup on the leader, onedb restore on the follower, same ~oneadmin/.one keys)
    before its oned starts; see the OpenNebula "Front-end HA" guide. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- set L = opennebula.lookup %}
{%- set zone = opennebula.ha.raft.get("zone_id", 0) %}
{%- set port = L.oned.port %}
{%- set one_auth = opennebula.oneadmin.home ~ "/.one/one_auth" %}
{%- set one_env = [{"ONE_AUTH": one_auth}, {"ONE_XMLRPC": opennebula.endpoint}] %}
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
  argv.run:
    - argv: {{ ["onezone", "server-add", zone | string, "--name", fe | string, "--rpc", "http://" ~ model.nodes[fe][model.storage_network] ~ ":" ~ port ~ "/RPC2"] | tojson }}
    - unless:
      - fun: one.zone_server_listed
        args: [{{ zone | int }}, {{ fe | string | tojson }}]
        endpoint: {{ opennebula.endpoint | string | tojson }}
        one_auth_file: {{ one_auth | tojson }}
    - runas: {{ L.oneadmin_user }}
    - env: {{ one_env | tojson }}
    - require:
      - one: opennebula-service-oned-ready
{%-     if ns.prev %}
      - argv: opennebula-ha-raft-zone-server-{{ ns.prev }}
{%-     endif %}
{%-     set ns.prev = fe %}
{%-   endfor %}
{%- endif %}
