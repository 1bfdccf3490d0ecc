# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Seed 000: DRBD one-disk (/srv/cloud/one, NFS) + data-disk (LVM VG, AoE) on the
    front-ends; aoetools on the hypervisors. #}
{%- from "storage/map.jinja" import model, storage with context %}
{%- if model.is_frontend %}
include:
  - drbd
{%- endif %}
{%- if model.roles %}
storage-drbd_aoe_lvm-placeholder:
  test.nop: []
{%- endif %}
