# -*- coding: utf-8 -*-
# vim: ft=sls
{%- from "drbd/map.jinja" import drbd with context %}
drbd-package-installed:
  pkg.installed:
    - pkgs: {{ drbd.lookup.pkgs | tojson }}
