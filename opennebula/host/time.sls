# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Time sync with chrony on every node: cluster:time:servers (`server ... iburst`) and
    cluster:time:pools (`pool ... iburst`); with neither, lookup chrony:default_pools.
    Corosync, DRBD, Kerberos-less NFSv4 and OpenNebula's monitoring all assume the nodes
    agree on the time. cluster:time:enabled false leaves time sync to the site. #}
{%- from "opennebula/host/map.jinja" import model, host with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = host.lookup.chrony %}
{%- if host.time.enabled %}
{%-   if L.pkgs %}
opennebula-host-time-pkgs:
  pkg.installed:
    - pkgs: {{ L.pkgs | tojson }}
{%-   endif %}

opennebula-host-time-conf:
  file.managed:
    - name: {{ L.conf }}
    - source: {{ files_switch(["host-chrony.conf.jinja"], lookup="host-chrony") }}
    - template: jinja
    - mode: '0644'
    - makedirs: true
    - context:
        servers: {{ host.time.servers | tojson }}
        pools: {{ (host.time.pools or ([] if host.time.servers else L.default_pools)) | tojson }}
        chrony: {{ L | tojson }}
{%-   if L.pkgs %}
    - require:
      - pkg: opennebula-host-time-pkgs
{%-   endif %}
{#- Salt's `virtual` grain for containers: "container" (LXC, Docker, Podman), "systemd-nspawn"
    (systemd-detect-virt's own word), "openvzve" #}
{%-   if L.service and grains.get("virtual") in ["container", "systemd-nspawn", "openvzve"] %}

{#- A container shares its host's clock and may not set it (chrony's unit has
    ConditionCapability=CAP_SYS_TIME, so systemd never starts it there): enable the unit
    for the day this root runs on hardware, but do not demand it running. #}
opennebula-host-time-service:
  service.enabled:
    - name: {{ L.service }}
{%-   elif L.service %}

opennebula-host-time-service:
  service.running:
    - name: {{ L.service }}
    - enable: true
    - watch:
      - file: opennebula-host-time-conf
{%-   endif %}
{%- endif %}
