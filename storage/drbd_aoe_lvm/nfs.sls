# -*- coding: utf-8 -*-
# vim: ft=sls
{#- NFS side on the front-ends (the Pacemaker/DRBD guide exports /srv/cloud/one):
    nfs-kernel-server installed but not started at boot (Pacemaker runs it on the active
    front-end), the mount point for Pacemaker's Filesystem resource fs_one (no fstab entry:
    Pacemaker mounts it), and the NFSv4 idmapd Domain. The export itself is the exportfs
    resource nfs_one in the Pacemaker graph, fed by storage/drbd_aoe_lvm/map.jinja
    (drbd_aoe_lvm.nfs: directory, clientspec = storage network CIDR, options =
    storage:drbd_aoe_lvm:nfs_export_options, fsid); no /etc/exports.d file, so a passive node
    never exports an unmounted directory. -#}
{%- from "storage/drbd_aoe_lvm/map.jinja" import model, storage, drbd_aoe_lvm with context %}
{%- set N = storage.lookup.nfs %}

storage-drbd_aoe_lvm-nfs-package:
  pkg.installed:
    - pkgs: {{ N.server_pkgs | tojson }}

storage-drbd_aoe_lvm-nfs-service-disabled:
  service.disabled:
    - name: {{ N.server_service }}
    - require:
      - pkg: storage-drbd_aoe_lvm-nfs-package

storage-drbd_aoe_lvm-one-mount-dir:
  file.directory:
    - name: {{ drbd_aoe_lvm.one_mount }}
    - makedirs: true

storage-drbd_aoe_lvm-idmapd-domain:
  file.replace:
    - name: {{ N.idmapd_conf }}
    - pattern: '^[#;]?[ \t]*Domain[ \t]*=.*$'
    - repl: 'Domain = {{ drbd_aoe_lvm.idmapd_domain }}'
    - count: 1
    - require:
      - pkg: storage-drbd_aoe_lvm-nfs-package

storage-drbd_aoe_lvm-idmapd-domain-added:
  file.replace:
    - name: {{ N.idmapd_conf }}
    # [General], unless some Domain = line follows (an operator's Domain is kept)
    - pattern: '^\[General\][ \t]*$(?![\s\S]*^[ \t]*Domain[ \t]*=)'
    - repl: "[General]\nDomain = {{ drbd_aoe_lvm.idmapd_domain }}"
    - count: 1
    - require:
      - file: storage-drbd_aoe_lvm-idmapd-domain
