# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Removes DRBD configuration and packages. Never touches backing devices or metadata. #}
include:
  - drbd.config.clean
  - drbd.package.clean
