# -*- coding: utf-8 -*-
# vim: ft=sls
{#- DRBD on the front-ends when drbd:resources are defined (storage variant drbd_aoe_lvm
    includes this). Promotion is Pacemaker's (ocf:linbit:drbd); see drbd/resources. #}
{%- from "drbd/map.jinja" import model, drbd with context %}
{%- if model.is_frontend and drbd.resources %}
include:
  - drbd.package
  - drbd.config
  - drbd.service
  - drbd.resources
{%- endif %}
