# -*- coding: utf-8 -*-
# vim: ft=sls
{#- AoE target side on the front-ends: vblade installed, its boot-time service disabled
    (Pacemaker's AoEtarget `aoe_data` exports the DRBD data disk on the active front-end),
    the vblade wrapper that AoEtarget must use as `binary=`, and the AoEtarget agent with its
    probe corrected that `aoe_data` runs (see the templates). -#}
{%- from "storage/drbd_aoe_lvm/map.jinja" import model, storage, drbd_aoe_lvm with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = drbd_aoe_lvm.lookup %}

storage-drbd_aoe_lvm-vblade-package:
  pkg.installed:
    - pkgs: {{ storage.lookup.aoe.target_pkgs | tojson }}

storage-drbd_aoe_lvm-vblade-service-disabled:
  service.disabled:
    - name: {{ L.vblade_service }}
    - require:
      - pkg: storage-drbd_aoe_lvm-vblade-package

storage-drbd_aoe_lvm-vblade-wrapper:
  file.managed:
    - name: {{ L.vblade_wrapper }}
    - source: {{ files_switch(["drbd_aoe_lvm/vblade-logged.jinja"], lookup="drbd_aoe_lvm-vblade-logged", tplroot="storage") }}
    - template: jinja
    - mode: '0755'
    - user: root
    - group: root
    - makedirs: true
    - context:
        wrapper: {{ L.vblade_wrapper | tojson }}
        binary: {{ L.vblade_binary | tojson }}
        log: {{ L.vblade_log | tojson }}
    - require:
      - pkg: storage-drbd_aoe_lvm-vblade-package

storage-drbd_aoe_lvm-vblade-logrotate:
  file.managed:
    - name: {{ L.logrotate_dir }}/vblade-logged
    - source: {{ files_switch(["drbd_aoe_lvm/vblade-logged.logrotate.jinja"], lookup="drbd_aoe_lvm-vblade-logrotate", tplroot="storage") }}
    - template: jinja
    - mode: '0644'
    - makedirs: true
    - context:
        wrapper: {{ L.vblade_wrapper | tojson }}
        log: {{ L.vblade_log | tojson }}

storage-drbd_aoe_lvm-aoetarget-agent:
  file.managed:
    - name: {{ L.aoe_agent_dir }}/{{ L.aoe_agent_provider }}/AoEtarget
    - source: {{ files_switch(["drbd_aoe_lvm/AoEtarget.jinja"], lookup="drbd_aoe_lvm-aoetarget-agent", tplroot="storage") }}
    - template: jinja
    - mode: '0755'
    - user: root
    - group: root
    - makedirs: true
    - context:
        agent: {{ (L.aoe_agent_dir ~ "/" ~ L.aoe_agent_provider ~ "/AoEtarget") | tojson }}
        provider: {{ L.aoe_agent_provider | tojson }}
        base: {{ L.aoe_agent_base | tojson }}
    - require:
      - pkg: storage-drbd_aoe_lvm-vblade-package
