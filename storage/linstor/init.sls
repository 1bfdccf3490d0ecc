# -*- coding: utf-8 -*-
# vim: ft=sls
{#- LINSTOR datastores (the LINSTOR guide).

      storage.linstor.satellite   every node in model.linstor_satellites (front-ends,
                                  hypervisors, storage servers): linstor-satellite + DRBD 9,
                                  service enabled + running; linstor-client.conf
      storage.linstor.controller  linstor-controller (+ linstor-client on front-ends).
                                  Stacks raft/none: installed, enabled and running
                                  on storage:linstor:controller only. Stack pacemaker: installed
                                  on EVERY front-end and disabled at boot; the cluster resource
                                  linstor_controller (ha_group, pacemaker/resources) starts it
                                  on the active front-end, so Salt never starts or stops it.
      storage.linstor.driver      every front-end: LINBIT's OpenNebula driver in oned's
                                  remotes (package, or storage:linstor:driver_source)
      storage.linstor.objects     on the controller minion only (one writer): nodes, storage
                                  pools on every satellite, the resource group, through the
                                  linstor states with `controllers` passed explicitly.

    Operator prerequisites (not done here): the LINBIT package repository, and the backing
    pools of storage:linstor:pools on every satellite, e.g. for LVM_THIN
    `linstorpool/thin_system` + `linstorpool/thin_image` (the LINSTOR guide: "Make sure you have
    configured 2 lvm-thin storage pools"). Salt never pvcreates: the devices are the
    operator's to choose. Under pacemaker the controller database (/var/lib/linstor) must
    be on storage every front-end can reach, or a failover starts an empty controller. -#}
{%- from "storage/linstor/map.jinja" import linstor with context %}
{%- set parts = [] %}
{%- if linstor.is_satellite %}{%- do parts.append("storage.linstor.satellite") %}{%- endif %}
{%- if linstor.is_controller_host or linstor.is_frontend %}{%- do parts.append("storage.linstor.controller") %}{%- endif %}
{%- if linstor.is_frontend %}{%- do parts.append("storage.linstor.driver") %}{%- endif %}
{%- if linstor.is_writer %}{%- do parts.append("storage.linstor.objects") %}{%- endif %}
{%- if parts %}
include: {{ parts | tojson }}
{%- endif %}
