# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The export of the dedicated NFS server (included by storage.nfs.server, which orders it
    after the package and the export directory): /etc/exports.d/opennebula.exports from TOFS
    nfs-exports.jinja, one line
      <export_path> <storage:nfs:network CIDR>(<export_options>,anonuid=<uid>,anongid=<gid>)
    and `exportfs -ra` (lookup nfs:reload_exports) when it changes. #}
{%- from "storage/nfs/map.jinja" import nfs with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set N = nfs.lookup %}
storage-nfs-server-exports:
  file.managed:
    - name: {{ N.exports_dir }}/{{ N.exports_file }}
    - source: {{ files_switch(["nfs-exports.jinja"], lookup="nfs-exports", tplroot="storage") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - mode: '0644'
    - makedirs: true
    - context:
        export: {{ nfs.export | tojson }}
{%- if N.reload_exports %}

storage-nfs-server-exportfs:
  argv.run:
    - argv: {{ (N.reload_exports.split() if N.reload_exports is string else N.reload_exports) | tojson }}
    - onchanges:
      - file: storage-nfs-server-exports
{%- endif %}
