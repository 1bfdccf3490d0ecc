# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Filesystem on one_disk and PV + VG on data_disk: created ONLY where DRBD is Primary and
    the device carries no signature at all; never on a device that holds data.
    The sequence (initial sync -> mkfs/VG -> hand-over to Pacemaker) is described in
    storage/drbd_aoe_lvm/init.sls.

    Guards (every `onlyif` entry must succeed; all are evaluated in test mode too), drbd
    module functions (argument lists, no shell):
      primary  drbd.role_is_primary: `drbdadm -c <drbd.conf> role <res>` starts with Primary
               (8.4 prints Primary/Secondary, 9 Primary): the secondary cannot even open
               the device
      readable drbd.readable: one 4 KiB block of the device reads (blkid -p also exits 2,
               "nothing found", on a device it cannot open)
      blank    drbd.blank: `blkid -p <dev>` exits 2: no filesystem, RAID, LVM or
               partition-table signature (exit 8, ambivalent, counts as data)
    data_disk additionally:
      storage-drbd_aoe_lvm-data-disk-guard   FAILS the run (guard.refuse) when
               the Primary device carries anything but an LVM PV that is in no VG or in
               storage:drbd_aoe_lvm:vg (another VG, a filesystem, ambivalent signatures:
               drbd.holds_foreign_data); the PV/VG states require it, so nothing is created
               next to foreign data.
      ...-vg-created    pvcreate on a blank device (then -vg-completed, in the same run)
      ...-vg-completed  vgcreate on a PV without VG (drbd.is_unused_pv: just created, or a
               run that stopped after pvcreate); vgcreate itself refuses a PV that belongs
               to another VG. -#}
{%- from "storage/drbd_aoe_lvm/map.jinja" import model, storage, drbd_aoe_lvm with context %}
{%- set X = drbd_aoe_lvm %}
{%- set conf = X.drbd_conf %}
{%- macro primary(res) -%}
      - fun: drbd.role_is_primary
        args: [{{ res | string | tojson }}]
        config: {{ conf | tojson }}
{%- endmacro %}
{%- macro readable(dev) -%}
      - fun: drbd.readable
        args: [{{ dev | string | tojson }}]
{%- endmacro %}
{%- macro blank(dev) -%}
      - fun: drbd.blank
        args: [{{ dev | string | tojson }}]
{%- endmacro %}
include:
  - drbd
  - storage.drbd_aoe_lvm.lvm
{%- if X.mkfs_one_disk %}

storage-drbd_aoe_lvm-one-disk-mkfs:
  argv.run:
    - argv: [{{ ("mkfs." ~ X.one_fstype) | tojson }}, {{ X.one.kdev | string | tojson }}]
    - onlyif:
      {{ primary(X.one.resource) }}
      {{ readable(X.one.kdev) }}
      {{ blank(X.one.kdev) }}
    - require:
      - drbd: drbd-resource-up-{{ X.one.resource }}
{%-   if model.id == model.initial_primary %}
      - drbd: drbd-initial-primary-{{ X.one.resource }}
{%-   endif %}
{%- endif %}

storage-drbd_aoe_lvm-data-disk-guard:
  guard.refuse:
    - comment: >-
        refusing to create PV/VG {{ X.vg }}: {{ X.data.kdev }} (DRBD {{ X.data.resource }},
        Primary here) carries a signature that is not an LVM PV of VG {{ X.vg }} (another
        VG, a filesystem or ambivalent signatures: see `blkid -p {{ X.data.kdev }}` and
        `pvs {{ X.data.kdev }}`). Nothing was written. Move or wipe that data by hand, or
        set storage:drbd_aoe_lvm:vg to the VG it holds.
    - onlyif:
      {{ primary(X.data.resource) }}
      {{ readable(X.data.kdev) }}
      - fun: drbd.holds_foreign_data
        args: [{{ X.data.kdev | string | tojson }}, {{ X.vg | string | tojson }}]
    - require:
      - drbd: drbd-resource-up-{{ X.data.resource }}
{%- if model.id == model.initial_primary %}
      - drbd: drbd-initial-primary-{{ X.data.resource }}
{%- endif %}

storage-drbd_aoe_lvm-data-disk-vg-created:
  argv.run:
    - argv: [pvcreate, {{ X.data.kdev | string | tojson }}]
    - onlyif:
      {{ primary(X.data.resource) }}
      {{ readable(X.data.kdev) }}
      {{ blank(X.data.kdev) }}
    - require:
      - guard: storage-drbd_aoe_lvm-data-disk-guard
      - file: storage-drbd_aoe_lvm-lvm-conf-devices

storage-drbd_aoe_lvm-data-disk-vg-completed:
  argv.run:
    - argv: [vgcreate, {{ X.vg | string | tojson }}, {{ X.data.kdev | string | tojson }}]
    - onlyif:
      {{ primary(X.data.resource) }}
      {{ readable(X.data.kdev) }}
      - fun: drbd.is_unused_pv
        args: [{{ X.data.kdev | string | tojson }}]
    - require:
      - argv: storage-drbd_aoe_lvm-data-disk-vg-created
{%- if model.id == model.initial_primary %}
{%-   for key in ["one", "data"] %}
{%-     set res = X[key].resource %}

{#- Hand-over: the run that forced the initial sync demotes again once mkfs/VG are done, so
    Pacemaker (ms_drbd_*) alone decides where DRBD is Primary. onchanges: only in that run;
    every later run is a no-op here. drbd.secondary refuses while the device is mounted or
    held (an active LV). #}
storage-drbd_aoe_lvm-handoff-{{ res }}:
  drbd.secondary:
    - name: {{ res }}
    - node: {{ X.node | tojson }}
    - config: {{ conf | tojson }}
    - onchanges:
      - drbd: drbd-initial-primary-{{ res }}
    - require:
{%-     if key == "one" and X.mkfs_one_disk %}
      - argv: storage-drbd_aoe_lvm-one-disk-mkfs
{%-     elif key == "data" %}
      - argv: storage-drbd_aoe_lvm-data-disk-vg-completed
{%-     else %}
      - drbd: drbd-initial-primary-{{ res }}
{%-     endif %}
{%-   endfor %}
{%- endif %}
