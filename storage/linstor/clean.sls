# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The reverse of storage.linstor on this minion: services stopped and disabled (the
    controller only where Salt ran it; under pacemaker the cluster resource is removed by
    pacemaker's clean), linstor-client.conf removed. Packages stay. LINSTOR objects (nodes,
    pools, resource groups) are NOT deleted: they describe replicated volumes; remove them
    deliberately with linstor.*_absent states or the CLI. -#}
{%- from "storage/linstor/map.jinja" import linstor with context %}
{%- set L = linstor.lookup %}
{%- if L.manage_services and linstor.is_controller_host and linstor.controller_service == "running" %}

storage-linstor-clean-controller-service:
  service.dead:
    - name: {{ L.controller_service }}
    - enable: false
{%- endif %}
{%- if L.manage_services and linstor.is_satellite %}

storage-linstor-clean-satellite-service:
  service.dead:
    - name: {{ L.satellite_service }}
    - enable: false
{%- endif %}

storage-linstor-clean-client-conf:
  file.absent:
    - name: {{ L.client_conf }}
