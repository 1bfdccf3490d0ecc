# -*- coding: utf-8 -*-
# vim: ft=sls
{#- drbd.resources: bring every drbd:resources entry up on this front-end; promotion is
    Pacemaker's (ocf:linbit:drbd in ms_drbd_* promotable clones), except once: the very
    first full sync.

    Per resource:
      drbd-resource-up-<name>        drbd.resource_up: create-md only on a blank backing
                                     device (module refuses a device with data unless the
                                     resource's wipe_backing_device: true), then
                                     `drbdadm up`, or `drbdadm adjust` when the running
                                     resource differs from its .res. Never promotes.
      drbd-initial-primary-<name>    ONLY rendered on drbd:initial_primary. drbd.primary
                                     force=True (8.4 `-- --overwrite-data-of-peer primary`,
                                     9 `primary --force`) = the Pacemaker/DRBD guide's
                                     one-time initial sync.
                                     Guarded twice:
                                       * `initial_only: true` -> the state acts only
                                         while the module would allow it: this node is
                                         initial_primary, local disk Inconsistent, no peer
                                         disk UpToDate/Outdated/Consistent, generation
                                         identifiers without history (never promoted or
                                         synced). Any other situation (already synced,
                                         Secondary under Pacemaker, peer is Primary...) is a
                                         skip with no changes: the second run is quiet and the
                                         state never competes with Pacemaker for the role.
                                       * the module itself refuses a forced promotion in all
                                         those situations anyway (data-safety rule 2).
    What happens after the forced promotion (mkfs of one_disk, PV/VG on data_disk only where
    DRBD is Primary, then the hand-over to Pacemaker by demoting again) lives in
    storage/drbd_aoe_lvm/init.sls, which documents the whole sequence. -#}
{%- from "drbd/map.jinja" import model, drbd with context %}
{%- set node_names = model.drbd_node_names %}
{%- set me = node_names.get(model.id, model.id) %}
{%- set initial_primary = node_names.get(model.initial_primary, model.initial_primary) %}
include:
  - drbd.config

{%- for rname, res in drbd.resources | dictsort %}

drbd-resource-up-{{ rname }}:
  drbd.resource_up:
    - name: {{ rname }}
    - wipe_backing_device: {{ res.get("wipe_backing_device", False) | tojson }}
    - node: {{ me | tojson }}
    - config: {{ drbd.lookup.drbd_conf | tojson }}
    - require:
      - file: drbd-config-global-common
      - file: drbd-config-resource-{{ rname }}
{%-   if model.id == model.initial_primary %}

drbd-initial-primary-{{ rname }}:
  drbd.primary:
    - name: {{ rname }}
    - force: true
    - initial_only: true
    - initial_primary: {{ initial_primary | tojson }}
    - node: {{ me | tojson }}
    - config: {{ drbd.lookup.drbd_conf | tojson }}
    - require:
      - drbd: drbd-resource-up-{{ rname }}
{%-   endif %}
{%- endfor %}
