# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Front-end services (oned, scheduler, Sunstone, FireEdge; a service set to an empty name in
    opennebula:lookup:services is not managed) and the TLS proxy, per HA stack:

    raft, none       enabled at boot and running; restarted when oned.conf / the proxy config
                     changes; then Salt waits for oned's XML-RPC port (register needs it).
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
{%-     else %}
    - require:
      - service: opennebula-service-oned
{%-     endif %}
{%-   endfor %}

opennebula-service-oned-listening:
  cmd.run:
    - name: >-
        for i in $(seq {{ L.oned.start_wait }}); do
        ss -Hltn 'sport = :{{ port }}' | grep -q . && exit 0; sleep 1; done;
        echo "oned does not listen on port {{ port }} after {{ L.oned.start_wait }}s" >&2; exit 1
    - unless: ss -Hltn 'sport = :{{ port }}' | grep -q .
    - require:
      - service: opennebula-service-oned

opennebula-service-proxy:
  service.running:
    - name: {{ proxy_service }}
    - enable: true
    - watch:
      - file: opennebula-proxy-conf
{%-   if opennebula.proxy.self_signed %}
      - cmd: opennebula-proxy-cert
{%-   else %}
      - file: opennebula-proxy-cert
      - file: opennebula-proxy-key
{%-   endif %}
{%- endif %}
