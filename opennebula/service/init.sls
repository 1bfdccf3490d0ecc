# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Front-end services (oned, scheduler, Sunstone, FireEdge; a service set to an empty name in
    opennebula:lookup:services is not managed) and the TLS proxy, per HA stack:

    raft, none       enabled at boot and running; restarted when oned.conf / the proxy config
                     changes; then Salt waits until oned answers API requests (register
                     needs it; one.oned_ready). raft: the first front-end bootstraps a
                     fresh database first (one.raft_bootstrapped).
    pacemaker,       NOT enabled at boot (the Pacemaker/DRBD guide: the init script is not
    rgmanager        started at boot, the cluster starts it). Salt only disables them and
                     never starts, stops or restarts them: the cluster runs them on the active
                     front-end. After a config change restart the cluster resource (crm
                     resource restart ...). #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- set L = opennebula.lookup %}
{%- set proxy_service = L.proxy.services[opennebula.proxy.server] %}
{%- set port = L.oned.port %}
include:
  - opennebula.config
  - opennebula.proxy

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
    - endpoint: {{ opennebula.endpoint }}
    - one_auth_file: {{ opennebula.oneadmin.home }}/.one/one_auth
    - require:
      - file: opennebula-config-oned
      - file: opennebula-config-one-auth
{%-   endif %}
{%-   for key, svc in L.services.items() if svc %}

opennebula-service-{{ key }}:
  service.running:
    - name: {{ svc }}
    - enable: true
{%-     if key == "oned" %}
    - watch:
      - file: opennebula-config-oned
    - require:
      - file: opennebula-config-one-auth
{%-       if model.stack == "raft" and model.id == model.first_frontend %}
      - one: opennebula-service-oned-raft-bootstrap
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
