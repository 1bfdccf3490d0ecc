# -*- coding: utf-8 -*-
# vim: ft=sls
{#- linstor-satellite (+ DRBD 9 kernel module and utils) on every satellite, and
    linstor-client.conf pointing at the controller(s) for the operator's `linstor` CLI. -#}
{%- from "storage/linstor/map.jinja" import linstor with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = linstor.lookup %}

{%- if L.manage_packages %}
storage-linstor-satellite-package:
  pkg.installed:
    - pkgs: {{ L.satellite_pkgs | tojson }}
{%- endif %}

storage-linstor-satellite-client-conf:
  file.managed:
    - name: {{ L.client_conf }}
    - source: {{ files_switch(["linstor-client.conf.jinja"], lookup="linstor-client-conf", tplroot="storage") }}
    - template: jinja
    - makedirs: true
    - user: root
    - group: root
    - mode: '0644'
    - context:
        controllers: {{ linstor.controllers | tojson }}
{%- if L.manage_services %}

storage-linstor-satellite-service:
  service.running:
    - name: {{ L.satellite_service }}
    - enable: true
{%-   if L.manage_packages %}
    - require:
      - pkg: storage-linstor-satellite-package
{%-   endif %}
{%- endif %}
