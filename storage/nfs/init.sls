# -*- coding: utf-8 -*-
# vim: ft=sls
{#- storage:variant nfs (the NFSv4 guide): one NFSv4 export of storage:nfs:export_path, mounted
    by every front-end and hypervisor on storage:datastores_path.
      storage.nfs.server     dedicated server (storage:nfs:server = a minion id, usually one
                             of cluster:storage_servers): nfs-kernel-server, oneadmin with the
                             fixed uid/gid, /etc/exports.d/opennebula.exports, exportfs -ra
      storage.nfs.client     front-ends and hypervisors: nfs4 mount on datastores_path from
                             the server, persisted in fstab
    HA NFS served by the front-ends from DRBD is the drbd_aoe_lvm variant (the Pacemaker/DRBD
    guide); the model refuses storage:nfs:server `frontends` (nothing would replicate the
    export). All of them get storage.nfs.common: NEED_IDMAPD=yes and the idmapd Domain
    (storage:nfs:idmapd_domain, default cluster:domain), identical everywhere or NFSv4 shows
    every file as nobody:nogroup. #}
{%- from "storage/nfs/map.jinja" import nfs with context %}
{%- if nfs.role %}
include:
  - storage.nfs.{{ nfs.role }}
{%- endif %}
