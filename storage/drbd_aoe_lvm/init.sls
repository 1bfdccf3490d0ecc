# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The Pacemaker/DRBD guide: two front-ends replicate one-disk (ext4, /srv/cloud/one, exported
    over NFS) and data-disk (LVM VG exported raw over AoE to the hypervisors) with DRBD;
    Pacemaker promotes DRBD and runs ha_group (san_ip lan_ip fs_one nfs_one aoe_data ...) on the
    Primary. Hypervisors are AoE initiators.

    Front-ends:  drbd (package, config, service disabled, resources up)
                 storage.drbd_aoe_lvm.lvm     lvm.conf filter/write_cache_state, initramfs
                 storage.drbd_aoe_lvm.target  vblade (boot service off) + AoEtarget wrapper
                 storage.drbd_aoe_lvm.nfs     nfs-kernel-server (boot service off), mount
                                              point, idmapd Domain
                 storage.drbd_aoe_lvm.disks   mkfs / PV+VG, guarded; hand-over to Pacemaker
    Hypervisors: storage.drbd_aoe_lvm.initiator (aoetools, aoe driver, aoe-discover)

    Initial sync, mkfs, VG and Pacemaker -- the sequence (one highstate per front-end; the
    top file runs storage before opennebula.ha, so on a fresh cluster all of this happens
    before the ms_drbd_one / ms_drbd_data resources exist in the CIB):
      1. both front-ends: drbd-resource-up-<res>: create-md on blank backing devices only
         (a device with data is refused unless drbd:resources:<res>:wipe_backing_device),
         `drbdadm up`. Both sides are Inconsistent.
      2. drbd:initial_primary only: drbd-initial-primary-<res> forces the promotion (the
         Pacemaker/DRBD guide's `-- --overwrite-data-of-peer primary`), but only while the drbd
         module allows it (unless: drbd.primary_problems): never-synced metadata, local disk
         Inconsistent, no peer disk with data. The full sync to the peer starts (no waiting
         for it).
      3. the Primary (only there: guard `drbdadm role`) formats one_disk with
         storage:drbd_aoe_lvm:one_fstype if blkid finds no signature at all, and creates
         the PV + VG storage:drbd_aoe_lvm:vg on a blank data_disk; a data_disk carrying a
         foreign signature (other VG, filesystem) fails the run instead.
      4. hand-over: in that same run only (onchanges on step 2) the initial primary demotes
         both resources again (drbd.secondary refuses while mounted/held). Pacemaker then
         promotes (ocf:linbit:drbd prefers the UpToDate side, so the sync source) and mounts
         fs_one, exports nfs_one, starts aoe_data.
    Every later run: step 1 is a no-op or a `drbdadm adjust` after a .res change; steps 2-4
    are skipped by their guards (synced metadata, Secondary here, signatures present,
    nothing changed in step 2): zero changes, and Salt never promotes or demotes a
    resource Pacemaker manages. -#}
{%- from "storage/drbd_aoe_lvm/map.jinja" import model with context %}
{%- if model.is_frontend %}
include:
  - drbd
  - storage.drbd_aoe_lvm.lvm
  - storage.drbd_aoe_lvm.target
  - storage.drbd_aoe_lvm.nfs
  - storage.drbd_aoe_lvm.disks
{%- elif model.is_hypervisor %}
include:
  - storage.drbd_aoe_lvm.initiator
{%- endif %}
