# -*- coding: utf-8 -*-
# vim: ft=sls
{#- mfschunkserver on model.chunkservers (default: every hypervisor; storage servers too when
    listed). Chunk directories come from storage:moosefs:hdds and are created owned by the
    mfs user (storage:moosefs:create_hdds: false when they are disk mount points you prepare
    yourself). The chunkserver binds to this node's storage-network address. A changed
    mfshdd.cfg or mfschunkserver.cfg reloads (SIGHUP), never restarts, the chunkserver.
    Chunk directories are never removed. -#}
{%- from "storage/moosefs/map.jinja" import model, moosefs with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = moosefs.lookup %}
{%- set address = (model.nodes.get(model.id, {}) or {}).get(model.storage_network, "") %}

{%- if L.manage_packages %}
storage-moosefs-chunkserver-package:
  pkg.installed:
    - pkgs: {{ L.chunkserver_pkgs | tojson }}
    - require_in:
      - file: storage-moosefs-chunkserver-conf-dir
      - file: storage-moosefs-chunkserver-data-dir
{%- endif %}

storage-moosefs-chunkserver-conf-dir:
  file.directory:
    - name: {{ L.conf_dir }}
    - makedirs: true

storage-moosefs-chunkserver-data-dir:
  file.directory:
    - name: {{ L.data_dir }}
    - user: {{ L.user }}
    - group: {{ L.group }}
    - makedirs: true
{%- if moosefs.create_hdds %}
{%-   for dir in moosefs.hdd_dirs %}

storage-moosefs-chunkserver-hdd-{{ dir }}:
  file.directory:
    - name: {{ dir }}
    - user: {{ L.user }}
    - group: {{ L.group }}
    - mode: '0750'
    - makedirs: true
    - require_in:
      - file: storage-moosefs-chunkserver-hdd-cfg
{%-   endfor %}
{%- endif %}

storage-moosefs-chunkserver-cfg:
  file.managed:
    - name: {{ L.conf_dir }}/mfschunkserver.cfg
    - source: {{ files_switch(["mfschunkserver.cfg.jinja"], lookup="mfschunkserver-cfg", tplroot="storage") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: {{ L.group }}
    - mode: '0640'
    - context:
        moosefs: {{ moosefs | tojson }}
        lookup: {{ L | tojson }}
        address: {{ address | tojson }}
    - require:
      - file: storage-moosefs-chunkserver-conf-dir

storage-moosefs-chunkserver-hdd-cfg:
  file.managed:
    - name: {{ L.conf_dir }}/mfshdd.cfg
    - source: {{ files_switch(["mfshdd.cfg.jinja"], lookup="mfshdd-cfg", tplroot="storage") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: {{ L.group }}
    - mode: '0640'
    - context:
        moosefs: {{ moosefs | tojson }}
    - require:
      - file: storage-moosefs-chunkserver-conf-dir
{%- if L.manage_services %}

storage-moosefs-chunkserver-service:
  service.running:
    - name: {{ L.chunkserver_service }}
    - enable: true
    - reload: true
    - require:
      - file: storage-moosefs-chunkserver-data-dir
    - watch:
      - file: storage-moosefs-chunkserver-cfg
      - file: storage-moosefs-chunkserver-hdd-cfg
{%- endif %}
