# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Removes what this variant added (wrapper, AoEtarget agent, logrotate file, lvm.conf block, aoe
    modules-load file) and the DRBD config. Never touches DRBD metadata, filesystems, PVs,
    VGs, nor the packages other variants may need; the lvm.conf lines commented out by the
    variant stay commented. -#}
{%- from "storage/drbd_aoe_lvm/map.jinja" import model, storage, drbd_aoe_lvm with context %}
{%- set L = drbd_aoe_lvm.lookup %}
{%- if model.is_frontend %}
include:
  - drbd.clean

storage-drbd_aoe_lvm-clean-vblade-wrapper:
  file.absent:
    - name: {{ L.vblade_wrapper }}

storage-drbd_aoe_lvm-clean-aoetarget-agent:
  file.absent:
    - name: {{ L.aoe_agent_dir }}/{{ L.aoe_agent_provider }}/AoEtarget

storage-drbd_aoe_lvm-clean-vblade-logrotate:
  file.absent:
    - name: {{ L.logrotate_dir }}/vblade-logged

storage-drbd_aoe_lvm-clean-lvm-conf-devices:
  file.blockreplace:
    - name: {{ storage.lookup.lvm.conf }}
    - marker_start: '# BEGIN opennebula-ha-formula storage drbd_aoe_lvm: managed by Salt'
    - marker_end: '# END opennebula-ha-formula storage drbd_aoe_lvm'
    - content: ''
    - onlyif:
      - fun: file.file_exists
        args: [{{ storage.lookup.lvm.conf | tojson }}]
{%- elif model.is_hypervisor %}

storage-drbd_aoe_lvm-clean-aoe-modules-load:
  file.absent:
    - name: {{ L.modules_load_dir }}/aoe.conf
{%- endif %}
