# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Filesystem on one_disk and PV + VG on data_disk: created ONLY where DRBD is Primary and
    the device carries no signature at all; never on a device that holds data.
    The sequence (initial sync -> mkfs/VG -> hand-over to Pacemaker) is described in
    storage/drbd_aoe_lvm/init.sls.

    Guards (every `onlyif` entry must succeed; all are evaluated in test mode too):
      primary  `drbdadm -c <drbd.conf> role <res>` starts with Primary (8.4 prints
               Primary/Secondary, 9 Primary): the secondary cannot even open the device
      readable one 4 KiB block of the device reads (blkid -p also exits 2, "nothing found",
               on a device it cannot open)
      blank    `blkid -p <dev>` exits 2: no filesystem, RAID, LVM or partition-table
               signature (exit 8, ambivalent, counts as data)
    data_disk additionally:
      storage-drbd_aoe_lvm-data-disk-guard   FAILS the run (test.fail_without_changes) when
               the Primary device carries anything but an LVM PV that is in no VG or in
               storage:drbd_aoe_lvm:vg (another VG, a filesystem, ambivalent signatures);
               the PV/VG states require it, so nothing is created next to foreign data.
      ...-vg-created    pvcreate + vgcreate on a blank device
      ...-vg-completed  vgcreate on a PV without VG (a run that stopped after pvcreate);
               vgcreate itself refuses a PV that belongs to another VG. -#}
{%- from "storage/drbd_aoe_lvm/map.jinja" import model, storage, drbd_aoe_lvm with context %}
{%- set X = drbd_aoe_lvm %}
{%- set conf = X.drbd_conf %}
{%- macro primary(res) -%}
drbdadm -c {{ conf }} role {{ res }} 2>/dev/null | grep -q '^Primary'
{%- endmacro %}
{%- macro readable(dev) -%}
dd if={{ dev }} of=/dev/null bs=4096 count=1 status=none
{%- endmacro %}
{%- macro blank(dev) -%}
blkid -p {{ dev }} >/dev/null 2>&1; test $? -eq 2
{%- endmacro %}
{%- set pv_vg = "pvs --noheadings -o vg_name " ~ X.data.kdev ~ " 2>/dev/null" %}
include:
  - drbd
  - storage.drbd_aoe_lvm.lvm
{%- if X.mkfs_one_disk %}

storage-drbd_aoe_lvm-one-disk-mkfs:
  cmd.run:
    - name: mkfs.{{ X.one_fstype }} {{ X.one.kdev }}
    - onlyif:
      - {{ primary(X.one.resource) | yaml_encode }}
      - {{ readable(X.one.kdev) | yaml_encode }}
      - {{ blank(X.one.kdev) | yaml_encode }}
    - require:
      - drbd: drbd-resource-up-{{ X.one.resource }}
{%-   if model.id == model.initial_primary %}
      - drbd: drbd-initial-primary-{{ X.one.resource }}
{%-   endif %}
{%- endif %}

storage-drbd_aoe_lvm-data-disk-guard:
  test.fail_without_changes:
    - comment: >-
        refusing to create PV/VG {{ X.vg }}: {{ X.data.kdev }} (DRBD {{ X.data.resource }},
        Primary here) carries a signature that is not an LVM PV of VG {{ X.vg }} (another
        VG, a filesystem or ambivalent signatures: see `blkid -p {{ X.data.kdev }}` and
        `pvs {{ X.data.kdev }}`). Nothing was written. Move or wipe that data by hand, or
        set storage:drbd_aoe_lvm:vg to the VG it holds.
    - onlyif:
      - {{ primary(X.data.resource) | yaml_encode }}
      - {{ readable(X.data.kdev) | yaml_encode }}
      - {{ ("t=$(blkid -p -s TYPE -o value " ~ X.data.kdev ~ " 2>/dev/null); rc=$?; test $rc -ne 2 && ! { test \"$t\" = LVM2_member && v=$(" ~ pv_vg ~ ") && v=$(echo $v) && { test -z \"$v\" || test \"$v\" = " ~ X.vg ~ "; }; }") | yaml_encode }}
    - require:
      - drbd: drbd-resource-up-{{ X.data.resource }}
{%- if model.id == model.initial_primary %}
      - drbd: drbd-initial-primary-{{ X.data.resource }}
{%- endif %}

storage-drbd_aoe_lvm-data-disk-vg-created:
  cmd.run:
    - name: pvcreate {{ X.data.kdev }} && vgcreate {{ X.vg }} {{ X.data.kdev }}
    - onlyif:
      - {{ primary(X.data.resource) | yaml_encode }}
      - {{ readable(X.data.kdev) | yaml_encode }}
      - {{ blank(X.data.kdev) | yaml_encode }}
    - require:
      - test: storage-drbd_aoe_lvm-data-disk-guard
      - file: storage-drbd_aoe_lvm-lvm-conf-devices

storage-drbd_aoe_lvm-data-disk-vg-completed:
  cmd.run:
    - name: vgcreate {{ X.vg }} {{ X.data.kdev }}
    - onlyif:
      - {{ primary(X.data.resource) | yaml_encode }}
      - {{ readable(X.data.kdev) | yaml_encode }}
      - {{ ("test \"$(blkid -p -s TYPE -o value " ~ X.data.kdev ~ " 2>/dev/null)\" = LVM2_member && v=$(" ~ pv_vg ~ ") && test -z \"$(echo $v)\"") | yaml_encode }}
    - require:
      - cmd: storage-drbd_aoe_lvm-data-disk-vg-created
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
      - cmd: storage-drbd_aoe_lvm-one-disk-mkfs
{%-     elif key == "data" %}
      - cmd: storage-drbd_aoe_lvm-data-disk-vg-completed
{%-     else %}
      - drbd: drbd-initial-primary-{{ res }}
{%-     endif %}
{%-   endfor %}
{%- endif %}
