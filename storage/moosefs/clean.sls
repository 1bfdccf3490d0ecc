# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The reverse of storage.moosefs on this minion: datastores unmounted and out of fstab,
    daemons stopped and disabled, Salt's config files removed. Packages stay. Metadata
    (DATA_PATH: metadata*.mfs, changelogs) and chunk directories are NEVER removed: they are
    the file system. Unmounting fails (and says so) while something (a VM) uses the mount. -#}
{%- from "storage/moosefs/map.jinja" import moosefs with context %}
{%- set L = moosefs.lookup %}
{%- set mnt = moosefs.mount %}

{%- if moosefs.is_client %}
storage-moosefs-clean-client-unmounted:
  mount.unmounted:
    - name: {{ mnt.path }}
    - device: {{ mnt.device }}
    - config: {{ L.fstab }}
    - persist: true
{%- endif %}

{%- for role, cfgs in [("chunkserver", ["mfschunkserver.cfg", "mfshdd.cfg"]),
                      ("metalogger", ["mfsmetalogger.cfg"]),
                      ("master", ["mfsmaster.cfg", "mfsexports.cfg"])] %}
{%-   if moosefs["is_" ~ role] %}
{%-     if L.manage_services %}

storage-moosefs-clean-{{ role }}-service:
  service.dead:
    - name: {{ L[role ~ "_service"] }}
    - enable: false
{%-     endif %}
{%-     for cfg in cfgs %}

storage-moosefs-clean-{{ role }}-{{ cfg }}:
  file.absent:
    - name: {{ L.conf_dir }}/{{ cfg }}
{%-       if L.manage_services %}
    - require:
      - service: storage-moosefs-clean-{{ role }}-service
{%-       endif %}
{%-     endfor %}
{%-   endif %}
{%- endfor %}

{%- if moosefs.is_master and moosefs.cgiserv and L.manage_services %}

storage-moosefs-clean-cgiserv-service:
  service.dead:
    - name: {{ L.cgiserv_service }}
    - enable: false
{%- endif %}
