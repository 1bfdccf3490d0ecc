# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Dedicated NFSv4 server (the NFSv4 guide, "First: NFS Server"): oneadmin/group with the
    fixed uid/gid of opennebula:oneadmin (anonuid/anongid point at them), the export directory
    owned by oneadmin, /etc/exports.d/opennebula.exports (TOFS nfs-exports.jinja):
      <export_path> <nfs network CIDR>(<export_options>,anonuid=<uid>,anongid=<gid>)
    re-read with `exportfs -ra` when it changes, nfs-server enabled and running. #}
{%- from "storage/nfs/map.jinja" import model, storage, nfs with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set N = nfs.lookup %}
include:
  - common.oneadmin
  - storage.nfs.common
  - storage.nfs.exports

storage-nfs-server-pkgs:
  pkg.installed:
    - pkgs: {{ N.server_pkgs | tojson }}
    - require_in:
      - file: storage-nfs-server-exports

storage-nfs-server-export-dir:
  file.directory:
    - name: {{ nfs.export.directory }}
    - user: oneadmin
    - group: {{ model.settings.opennebula.oneadmin.group }}
    - mode: '0750'
    - makedirs: true
    - require:
      - user: opennebula-oneadmin-user
      - pkg: storage-nfs-server-pkgs
    - require_in:
      - file: storage-nfs-server-exports

{%- if N.server_service %}

storage-nfs-server-service:
  service.running:
    - name: {{ N.server_service }}
    - enable: true
    - require:
      - file: storage-nfs-server-exports
      - pkg: storage-nfs-server-pkgs
    - watch:
      - file: storage-nfs-common-idmapd-domain
      - file: storage-nfs-common-idmapd-domain-added
{%-   if N.nfs_common_defaults %}
      - file: storage-nfs-common-need-idmapd
{%-   endif %}
{%- endif %}
