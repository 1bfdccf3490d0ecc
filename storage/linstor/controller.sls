# -*- coding: utf-8 -*-
# vim: ft=sls
{#- linstor-controller and the front-end tools. See storage/linstor/init.sls for where the
    controller runs under each HA stack. -#}
{%- from "storage/linstor/map.jinja" import linstor with context %}
{%- set L = linstor.lookup %}
{%- set pkgs = (L.controller_pkgs if linstor.is_controller_host else []) + (L.frontend_pkgs if linstor.is_frontend else []) %}

{%- if L.manage_packages and pkgs %}
storage-linstor-controller-package:
  pkg.installed:
    - pkgs: {{ pkgs | tojson }}
{%- endif %}
{%- if linstor.is_controller_host and L.manage_services %}

storage-linstor-controller-service:
{%-   if linstor.controller_service == "running" %}
  service.running:
    - name: {{ L.controller_service }}
    - enable: true
{%-   else %}
  {#- Pacemaker's linstor_controller resource starts/stops it; only boot start is off. #}
  service.disabled:
    - name: {{ L.controller_service }}
{%-   endif %}
{%-   if L.manage_packages %}
    - require:
      - pkg: storage-linstor-controller-package
{%-   endif %}
{%- endif %}
