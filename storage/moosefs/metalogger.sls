# -*- coding: utf-8 -*-
# vim: ft=sls
{#- mfsmetalogger on model.moosefs_metaloggers (the front-ends that do not run the master):
    a continuously updated copy of the master's metadata for a manual master recovery. -#}
{%- from "storage/moosefs/map.jinja" import moosefs with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = moosefs.lookup %}

{%- if L.manage_packages %}
storage-moosefs-metalogger-package:
  pkg.installed:
    - pkgs: {{ L.metalogger_pkgs | tojson }}
    - require_in:
      - file: storage-moosefs-metalogger-conf-dir
      - file: storage-moosefs-metalogger-data-dir
{%- endif %}

storage-moosefs-metalogger-conf-dir:
  file.directory:
    - name: {{ L.conf_dir }}
    - makedirs: true

storage-moosefs-metalogger-data-dir:
  file.directory:
    - name: {{ L.data_dir }}
    - user: {{ L.user }}
    - group: {{ L.group }}
    - makedirs: true

storage-moosefs-metalogger-cfg:
  file.managed:
    - name: {{ L.conf_dir }}/mfsmetalogger.cfg
    - source: {{ files_switch(["mfsmetalogger.cfg.jinja"], lookup="mfsmetalogger-cfg", tplroot="storage") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: {{ L.group }}
    - mode: '0640'
    - context:
        moosefs: {{ moosefs | tojson }}
        lookup: {{ L | tojson }}
    - require:
      - file: storage-moosefs-metalogger-conf-dir
{%- if L.manage_services %}

storage-moosefs-metalogger-service:
  service.running:
    - name: {{ L.metalogger_service }}
    - enable: true
    - reload: true
    - require:
      - file: storage-moosefs-metalogger-data-dir
    - watch:
      - file: storage-moosefs-metalogger-cfg
{%- endif %}
