# -*- coding: utf-8 -*-
# vim: ft=sls
{#- NFS client (the NFSv4 guide, "Second: NFS Client"), front-ends and hypervisors: nfs4 mount of
    <server address or VIP>:<export_path> on storage:datastores_path with
    storage:nfs:mount_options (+ _netdev, always), persisted in fstab (lookup nfs:fstab).
    Lookup nfs:mount false only writes fstab (the mount happens at the next boot). #}
{%- from "storage/nfs/map.jinja" import model, storage, nfs with context %}
{%- set N = nfs.lookup %}
include:
  - storage.nfs.common

storage-nfs-client-mount:
  mount.mounted:
    - name: {{ storage.datastores_path }}
    - device: {{ nfs.server_address }}:{{ nfs.export.directory }}
    - fstype: nfs4
    - opts: {{ nfs.mount_options | tojson }}
    # the kernel negotiates rsize/wsize with the server and reports what it got: comparing
    # them would force a remount (under running VMs) on every highstate
    - hidden_opts: {{ nfs.mount_options | select("match", "^[rw]size=") | list | tojson }}
    - dump: 0
    - pass_num: 0
    - persist: true
    - mkmnt: true
    - mount: {{ N.mount | tojson }}
    - config: {{ N.fstab }}
    - require:
      - pkg: storage-nfs-common-pkgs
      - file: storage-nfs-common-idmapd-domain
      - file: storage-nfs-common-idmapd-domain-added
