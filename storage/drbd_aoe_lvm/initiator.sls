# -*- coding: utf-8 -*-
# vim: ft=sls
{#- AoE initiator on the hypervisors: aoetools, the aoe driver now and at boot, one
    aoe-discover when the driver was just loaded (the target announces itself whenever
    Pacemaker starts vblade on a front-end, so no periodic discovery is needed).
    aoetools' initramfs hook/script (DHCP in the initramfs, up to 180 s at boot when no
    ip= is given: found in the lab) are diverted away unless
    storage:drbd_aoe_lvm:aoe:initramfs is true (root on AoE). The VG on the AoE device
    (/dev/etherd/e<shelf>.<slot>) is for the OpenNebula datastore states. -#}
{%- from "storage/drbd_aoe_lvm/map.jinja" import model, storage, drbd_aoe_lvm with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = drbd_aoe_lvm.lookup %}
{%- set divert = (not drbd_aoe_lvm.aoe.initramfs) and L.initramfs_aoe_files %}
{%- if divert %}
{%-   for path in L.initramfs_aoe_files %}
{%-     set to = "/usr/share/initramfs-tools/disabled-by-salt-" ~ (path.split("/")[-2:] | join("-")) %}

storage-drbd_aoe_lvm-initramfs-divert-{{ path.split("/")[-2:] | join("-") }}:
  argv.run:
    - argv: [dpkg-divert, --local, --rename, --divert, {{ to | tojson }}, --add, {{ path | tojson }}]
    - unless:
      - fun: dpkg_divert.is_local
        args: [{{ path | tojson }}]
    - require_in:
      - pkg: storage-drbd_aoe_lvm-aoe-package
{%-   endfor %}
{%- endif %}

storage-drbd_aoe_lvm-aoe-package:
  pkg.installed:
    - pkgs: {{ storage.lookup.aoe.initiator_pkgs | tojson }}
{%- if divert %}

storage-drbd_aoe_lvm-initramfs-updated:
  argv.run:
    - argv: {{ (L.update_initramfs.split() if L.update_initramfs is string else L.update_initramfs) | tojson }}
    - onchanges:
{%-   for path in L.initramfs_aoe_files %}
      - argv: storage-drbd_aoe_lvm-initramfs-divert-{{ path.split("/")[-2:] | join("-") }}
{%-   endfor %}
    - require:
      - pkg: storage-drbd_aoe_lvm-aoe-package
{%- endif %}

storage-drbd_aoe_lvm-aoe-modules-load:
  file.managed:
    - name: {{ L.modules_load_dir }}/aoe.conf
    - source: {{ files_switch(["drbd_aoe_lvm/aoe-modules-load.conf.jinja"], lookup="drbd_aoe_lvm-aoe-modules-load", tplroot="storage") }}
    - template: jinja
    - mode: '0644'
    - makedirs: true

storage-drbd_aoe_lvm-aoe-module:
  kmod.present:
    - name: aoe
    - require:
      - pkg: storage-drbd_aoe_lvm-aoe-package

storage-drbd_aoe_lvm-aoe-discover:
  argv.run:
    - argv: {{ (L.aoe_discover.split() if L.aoe_discover is string else L.aoe_discover) | tojson }}
    - onchanges:
      - kmod: storage-drbd_aoe_lvm-aoe-module
