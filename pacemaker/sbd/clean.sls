# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Undo pacemaker.sbd on a front-end (and turn SBD off: Debian's sbd package enables
    sbd.service as RequiredBy corosync when it is installed, so a node with the package but
    without SBD settings could not start corosync): sbd.service disabled (it stops with
    corosync), the watchdog modules-load entry removed; /etc/default/sbd (the package's
    conffile) stays. The SBD header on the
    shared device is data of the cluster and is never wiped here (`sbd -d DEV create` by
    hand, or wipefs, once no node uses it). Run it after pacemaker.resources.clean. -#}
{%- from "pacemaker/map.jinja" import model, pacemaker with context %}
{%- if model.is_frontend %}
{%-   set L = pacemaker.lookup %}
pacemaker-sbd-clean-service-disabled:
  service.disabled:
    - name: {{ L.sbd_service | tojson }}
    - onlyif:
      - fun: service.available
        args: [{{ L.sbd_service | tojson }}]

pacemaker-sbd-clean-modules-load:
  file.absent:
    - name: {{ L.sbd_modules_load | tojson }}
{%- endif %}
