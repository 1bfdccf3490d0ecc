# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Front-end services (oned, scheduler, Sunstone, FireEdge; a service set to an empty name in
    opennebula:lookup:services is not managed) and the TLS proxy, per HA stack:

    raft, none       enabled at boot and running; restarted when oned.conf / the proxy config
                     changes; then Salt waits until oned answers API requests (register
                     needs it; one.oned_ready). raft, before oned first starts (the
                     OpenNebula "Front-end HA" guide's order): the first front-end
                     bootstraps its fresh database with SERVER_ID -1 and adds itself to the
                     zone (one.raft_bootstrapped); every other front-end waits for a leader
                     and for the lower SERVER_IDs to be members, restores the leader's
                     database backup and is added on the leader (oneraft.joined), one at a
                     time. opennebula.ha.raft then waits until each is leader or follower.
    pacemaker,       NOT enabled at boot (the Pacemaker/DRBD guide: the init script is not
    rgmanager        started at boot, the cluster starts it). Salt only disables them and
                     never starts, stops or restarts them: the cluster runs them on the active
                     front-end. After a config change restart the cluster resource (crm
                     resource restart ...). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- set L = opennebula.lookup %}
{%- set proxy_service = L.proxy.services[opennebula.proxy.server] %}
{%- set port = L.oned.port %}
{%- set raft = opennebula.ha.raft %}
{%- set zone = raft.get("zone_id", 0) %}
{%- set one_auth = opennebula.oneadmin.home ~ "/.one/one_auth" %}
{%- macro rpc(fe) %}{{ "http://" ~ model.nodes[fe][model.storage_network] ~ ":" ~ port ~ "/RPC2" }}{% endmacro %}
include:
  - opennebula.config
  - opennebula.proxy
{%- if model.stack == "raft" and model.id != model.first_frontend %}
  - opennebula.oneadmin
{%- endif %}

{%- if model.stack in ["pacemaker", "rgmanager"] %}
{%-   for key, svc in L.services.items() if svc %}

opennebula-service-{{ key }}-disabled:
  service.disabled:
    - name: {{ svc }}
{%-   endfor %}

opennebula-service-proxy-disabled:
  service.disabled:
    - name: {{ proxy_service }}
{%- else %}
{%-   if model.stack == "raft" and model.id == model.first_frontend %}

{#- raft: oned with its SERVER_ID refuses a fresh database ("Database has to be bootstraped
    to start oned in HA"). Only while the database is not bootstrapped: oned is started once
    with SERVER_ID -1 and stopped (the front-end HA guide), oned.conf put back. Followers
    get the leader's database instead (opennebula/ha/raft). #}
opennebula-service-oned-raft-bootstrap:
  one.raft_bootstrapped:
    - name: {{ L.oned_conf }}
    - service: {{ L.services.oned }}
    - timeout: {{ L.oned.start_wait }}
    - zone_id: {{ zone | int }}
    - server_name: {{ model.id | string | tojson }}
    - server_rpc: {{ rpc(model.id) | tojson }}
    - endpoint: {{ opennebula.endpoint }}
    - one_auth_file: {{ one_auth }}
    - require:
      - file: opennebula-config-oned
      - file: opennebula-config-one-auth
{%-   elif model.stack == "raft" %}
{%-     set ids = model.raft_server_ids %}
{%-     set peers = {} %}
{%-     set lower = [] %}
{%-     for fe in model.frontends if fe != model.id %}
{%-       do peers.update({fe | string: rpc(fe)}) %}
{%-       if ids[fe] | int < ids[model.id] | int %}{%- do lower.append(fe | string) %}{%- endif %}
{%-     endfor %}

{#- raft, every other front-end: the leader's database, before this oned ever starts (with
    its SERVER_ID on a never-bootstrapped database it would exit). Waits for the observable
    facts (a leader answers; the lower SERVER_IDs are leader or follower), so the front-ends
    join one at a time whatever order their highstates run in. #}
opennebula-service-oned-raft-join:
  oneraft.joined:
    - name: {{ L.oned_conf }}
    - server_name: {{ model.id | string | tojson }}
    - server_id: {{ ids[model.id] | int }}
    - rpc: {{ rpc(model.id) | tojson }}
    - peers: {{ peers | tojson }}
    - lower: {{ lower | tojson }}
    - zone_id: {{ zone | int }}
    - service: {{ L.services.oned }}
    - var_location: {{ opennebula.oneadmin.home }}
    - user: {{ L.oneadmin_user }}
    - overwrite: {{ raft.get("overwrite_follower_db", false) | tojson }}
    - wait: {{ L.oned.raft_join_wait }}
    - mysql_client: {{ L.db.client }}
    - database: {{ opennebula.db.name | string | tojson }}
    - one_auth_file: {{ one_auth }}
    - require:
      - file: opennebula-config-oned
      - file: opennebula-config-one-auth
      - file: opennebula-oneadmin-ssh-private-key
      - file: opennebula-config-oneadmin-my-cnf
{%-   endif %}
{%-   for key, svc in L.services.items() if svc %}

opennebula-service-{{ key }}:
  service.running:
    - name: {{ svc }}
    - enable: true
{%-     if key == "oned" %}
    - watch:
      - file: opennebula-config-oned
{%-       if model.stack == "raft" and model.settings.cluster.vips %}
      - file: opennebula-config-monitord-address
{%-       endif %}
    - require:
      - file: opennebula-config-one-auth
{%-       if model.stack == "raft" and model.id == model.first_frontend %}
      - one: opennebula-service-oned-raft-bootstrap
{%-       elif model.stack == "raft" %}
      - oneraft: opennebula-service-oned-raft-join
{%-       endif %}
{%-     else %}
    - require:
      - service: opennebula-service-oned
{%-     endif %}
{%-   endfor %}

{#- oned answers API requests (one.system.version), not only listens: under raft it answers
    "Cannot process request, no leader found" for seconds after its port opens. #}
opennebula-service-oned-ready:
  one.oned_ready:
    - timeout: {{ L.oned.start_wait }}
    - endpoint: {{ opennebula.endpoint }}
    - one_auth_file: {{ opennebula.oneadmin.home }}/.one/one_auth
    - require:
      - service: opennebula-service-oned

opennebula-service-proxy:
  service.running:
    - name: {{ proxy_service }}
    - enable: true
    - watch:
      - file: opennebula-proxy-conf
{%-   if opennebula.proxy.self_signed %}
      - argv: opennebula-proxy-cert
{%-   else %}
      - file: opennebula-proxy-cert
      - file: opennebula-proxy-key
{%-   endif %}
{%- endif %}
