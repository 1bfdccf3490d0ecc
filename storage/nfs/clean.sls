# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Removes the formula's export file (dedicated server) and the client fstab entry; never the
    exported data, the packages or the id mapping. Unmounting is left to the operator (VMs may
    run from it). #}
{%- from "storage/nfs/map.jinja" import model, storage, nfs with context %}
{%- set N = nfs.lookup %}
{%- if nfs.role == "server" %}
storage-nfs-clean-exports:
  file.absent:
    - name: {{ N.exports_dir }}/{{ N.exports_file }}
{%-   if N.reload_exports %}

storage-nfs-clean-exportfs:
  argv.run:
    - argv: {{ (N.reload_exports.split() if N.reload_exports is string else N.reload_exports) | tojson }}
    - onchanges:
      - file: storage-nfs-clean-exports
{%-   endif %}
{%- elif nfs.role == "client" %}
storage-nfs-clean-fstab:
  mount.fstab_absent:
    - name: {{ nfs.server_address }}:{{ nfs.export.directory }}
    - fs_file: {{ storage.datastores_path }}
    - config: {{ N.fstab }}
{%- else %}
storage-nfs-clean-nothing:
  test.nop: []
{%- endif %}
