# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Under Pacemaker the drbd init service stays disabled: the cluster brings DRBD up and
    promotes it (ocf:linbit:drbd). Otherwise it is enabled. #}
{%- from "drbd/map.jinja" import model, drbd with context %}
{%- if model.stack == "pacemaker" %}
drbd-service-disabled:
  service.disabled:
    - name: {{ drbd.lookup.service }}
{%- else %}
drbd-service-enabled:
  service.enabled:
    - name: {{ drbd.lookup.service }}
{%- endif %}
