# -*- coding: utf-8 -*-
# vim: ft=sls
{#- mfsmaster on model.moosefs_master.

    Metadata safety. A master that has ever run leaves metadata.mfs (stopped) or
    metadata.mfs.back (running: mfsmaster renames metadata.mfs on start, and on a failed
    start too), plus metadata.mfs.back.N and changelog.N.mfs; a metalogger leaves
    metadata_ml.mfs.back and changelog_ml.N.mfs. An empty metadata.mfs over any of those
    would start an EMPTY file system and the chunkservers would drop every chunk it does not
    know. So storage-moosefs-master-metadata (moosefs.metadata_present) copies
    metadata.mfs.empty only when NOT ONE metadata*/changelog* .mfs file exists, and fails the
    run (service not started) when such files exist but neither metadata.mfs nor
    metadata.mfs.back: recover by hand with `mfsmaster -a` (uses the newest metadata +
    changelogs) or mfsmetarestore.
    Config changes reload (SIGHUP: exports, most keys), never restart the master. -#}
{%- from "storage/moosefs/map.jinja" import moosefs with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = moosefs.lookup %}

{%- if L.manage_packages %}
storage-moosefs-master-package:
  pkg.installed:
    - pkgs: {{ L.master_pkgs | tojson }}
    - require_in:
      - file: storage-moosefs-master-conf-dir
      - file: storage-moosefs-master-data-dir
{%- endif %}

storage-moosefs-master-conf-dir:
  file.directory:
    - name: {{ L.conf_dir }}
    - makedirs: true

storage-moosefs-master-data-dir:
  file.directory:
    - name: {{ L.data_dir }}
    - user: {{ L.user }}
    - group: {{ L.group }}
    - makedirs: true

storage-moosefs-master-cfg:
  file.managed:
    - name: {{ L.conf_dir }}/mfsmaster.cfg
    - source: {{ files_switch(["mfsmaster.cfg.jinja"], lookup="mfsmaster-cfg", tplroot="storage") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: {{ L.group }}
    - mode: '0640'
    - context:
        moosefs: {{ moosefs | tojson }}
        lookup: {{ L | tojson }}
    - require:
      - file: storage-moosefs-master-conf-dir

storage-moosefs-master-exports:
  file.managed:
    - name: {{ L.conf_dir }}/mfsexports.cfg
    - source: {{ files_switch(["mfsexports.cfg.jinja"], lookup="mfsexports-cfg", tplroot="storage") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: {{ L.group }}
    - mode: '0640'
    - context:
        moosefs: {{ moosefs | tojson }}
    - require:
      - file: storage-moosefs-master-conf-dir

storage-moosefs-master-metadata:
  moosefs.metadata_present:
    - name: {{ L.data_dir | string | tojson }}
    - source: {{ L.metadata_empty | string | tojson }}
    - user: {{ L.user | string | tojson }}
    - group: {{ L.group | string | tojson }}
    - require:
      - file: storage-moosefs-master-data-dir

{%- if L.manage_services %}

storage-moosefs-master-service:
  service.running:
    - name: {{ L.master_service }}
    - enable: true
    - reload: true
    - require:
      - moosefs: storage-moosefs-master-metadata
    - watch:
      - file: storage-moosefs-master-cfg
      - file: storage-moosefs-master-exports
{%- endif %}

{%- if moosefs.cgiserv %}
{%-   if L.manage_packages %}

storage-moosefs-master-cgiserv-package:
  pkg.installed:
    - pkgs: {{ L.cgiserv_pkgs | tojson }}
{%-   endif %}
{%-   if L.manage_services %}

storage-moosefs-master-cgiserv-service:
  service.running:
    - name: {{ L.cgiserv_service }}
    - enable: true
{%-     if L.manage_packages %}
    - require:
      - pkg: storage-moosefs-master-cgiserv-package
{%-     endif %}
{%-   endif %}
{%- endif %}
