# -*- coding: utf-8 -*-
# vim: ft=sls
{#- OpenNebula's own Raft HA (the OpenNebula "Front-end HA" guide). oned.conf
    (opennebula.config) carries FEDERATION SERVER_ID (model.raft_server_ids), the RAFT timeouts
    and RAFT_LEADER_HOOK / RAFT_FOLLOWER_HOOK moving the VIPs (share/hooks/raft/vip.sh, run by
    oned's hook manager); monitord.conf's MONITOR_ADDRESS is the VIP, so the hypervisors'
    probes reach whichever front-end leads. The zone is built in opennebula.service, the
    guide's order: the first front-end bootstraps its database with SERVER_ID -1 and adds
    itself to the zone (one.raft_bootstrapped); every other front-end, one at a time, restores
    the leader's database backup and is added on the leader (oneraft.joined). Here: each
    front-end waits until its oned is leader or follower and the zone lists it. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- set L = opennebula.lookup %}
{%- set zone = opennebula.ha.raft.get("zone_id", 0) %}
{%- set rpc = "http://" ~ model.nodes[model.id][model.storage_network] ~ ":" ~ L.oned.port ~ "/RPC2" %}
include:
  - opennebula.service

opennebula-ha-raft-member:
  oneraft.member:
    - name: {{ model.id | string | tojson }}
    - endpoint: {{ rpc | tojson }}
    - zone_id: {{ zone | int }}
    - wait: {{ L.oned.raft_member_wait }}
    - one_auth_file: {{ opennebula.oneadmin.home }}/.one/one_auth
    - require:
      - one: opennebula-service-oned-ready
