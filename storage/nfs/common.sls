# -*- coding: utf-8 -*-
# vim: ft=sls
{#- NFSv4 id mapping, the same on server and clients (the NFSv4 guide): NEED_IDMAPD=yes in
    /etc/default/nfs-common and Domain in idmapd.conf (only that key is edited). #}
{%- from "storage/nfs/map.jinja" import nfs with context %}
{%- set N = nfs.lookup %}
storage-nfs-common-pkgs:
  pkg.installed:
    - pkgs: {{ N.client_pkgs | tojson }}
{%- if N.nfs_common_defaults %}

storage-nfs-common-need-idmapd:
  file.keyvalue:
    - name: {{ N.nfs_common_defaults }}
    - key_values: {NEED_IDMAPD: 'yes'}
    - separator: '='
    - uncomment: '#'
    - append_if_not_found: true
    - require:
      - pkg: storage-nfs-common-pkgs
{%- endif %}

storage-nfs-common-idmapd-domain:
  file.replace:
    - name: {{ N.idmapd_conf }}
    - pattern: '^[#;]?[ \t]*Domain[ \t]*=.*$'
    - repl: 'Domain = {{ nfs.idmapd_domain }}'
    - count: 1
    - require:
      - pkg: storage-nfs-common-pkgs

storage-nfs-common-idmapd-domain-added:
  file.replace:
    - name: {{ N.idmapd_conf }}
    # [General], unless some Domain = line follows (an operator's Domain is kept)
    - pattern: '^\[General\][ \t]*$(?![\s\S]*^[ \t]*Domain[ \t]*=)'
    - repl: "[General]\nDomain = {{ nfs.idmapd_domain }}"
    - count: 1
    - require:
      - file: storage-nfs-common-idmapd-domain
