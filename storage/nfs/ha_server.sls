# -*- coding: utf-8 -*-
# vim: ft=sls
{#- storage:nfs:server `frontends`: the NFS server runs under Pacemaker on the active front-end
    (nfsserver + exportfs resources on the san VIP, the export directory on DRBD). Here only the
    package, NOT started at boot, and the shared id mapping. No /etc/exports.d file: the
    exportfs resource carries nfs.export (storage/nfs/map.jinja) so a passive front-end never
    exports an unmounted directory. #}
{%- from "storage/nfs/map.jinja" import nfs with context %}
{%- set N = nfs.lookup %}
include:
  - storage.nfs.common

storage-nfs-ha-server-pkgs:
  pkg.installed:
    - pkgs: {{ N.server_pkgs | tojson }}
{%- if N.server_service %}

storage-nfs-ha-server-disabled:
  service.disabled:
    - name: {{ N.server_service }}
    - require:
      - pkg: storage-nfs-ha-server-pkgs
{%- endif %}
