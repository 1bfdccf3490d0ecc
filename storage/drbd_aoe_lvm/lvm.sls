# -*- coding: utf-8 -*-
# vim: ft=sls
{#- LVM on the front-ends (the Pacemaker/DRBD guide): scan only DRBD devices, no persistent
    device cache.

    Only the two keys are managed, not the whole lvm.conf:
      * a marked block right after `devices {` holds
          filter = [ "a|drbd.*|", "r|.*|" ]    (storage:drbd_aoe_lvm:lvm_filter)
          write_cache_state = 0
        The filter matters: with external or internal meta-data the backing partition
        (/dev/sda6) carries the same PV label as /dev/drbd2; LVM must only see the DRBD side.
      * any other active `filter =` / `write_cache_state =` line with another value is
        commented out (LVM would warn "Ignoring duplicate config value" and keep the last one;
        global_filter is left alone).
    lvmlocal.conf was considered: LVM reads it, but it MERGES list values with lvm.conf's
    (filter=["a|x|","a|drbd.*|","r|.*|"] measured with lvmconfig), so lvm.conf is edited.
    Then /etc/lvm/cache/.cache is removed and, on changes, the initramfs (which carries a copy
    of /etc/lvm: initramfs-tools' lvm2 hook) is rebuilt. -#}
{%- from "storage/drbd_aoe_lvm/map.jinja" import model, storage, drbd_aoe_lvm with context %}
{%- set L = drbd_aoe_lvm.lookup %}
{%- set conf = storage.lookup.lvm.conf %}
{%- set filter_value = "[ " ~ (drbd_aoe_lvm.lvm_filter | map("tojson") | join(", ")) ~ " ]" %}

storage-drbd_aoe_lvm-lvm-package:
  pkg.installed:
    - pkgs: {{ storage.lookup.lvm.pkgs | tojson }}

storage-drbd_aoe_lvm-lvm-conf-others-disabled:
  file.replace:
    - name: {{ conf }}
    - pattern: '^([ \t]*)(filter[ \t]*=(?![ \t]*{{ filter_value | regex_escape }}[ \t]*$).*|write_cache_state[ \t]*=(?![ \t]*0[ \t]*$).*)$'
    - repl: '\1# \2'
    - require:
      - pkg: storage-drbd_aoe_lvm-lvm-package

storage-drbd_aoe_lvm-lvm-conf-devices:
  file.blockreplace:
    - name: {{ conf }}
    - marker_start: '# BEGIN opennebula-ha-formula storage drbd_aoe_lvm: managed by Salt'
    - marker_end: '# END opennebula-ha-formula storage drbd_aoe_lvm'
    - insert_after_match: '^devices[ \t]*\{'
    - content: |
            filter = {{ filter_value }}
            write_cache_state = 0
    - require:
      - file: storage-drbd_aoe_lvm-lvm-conf-others-disabled

storage-drbd_aoe_lvm-lvm-cache-removed:
  file.absent:
    - name: {{ L.lvm_cache }}
    - require:
      - file: storage-drbd_aoe_lvm-lvm-conf-devices

storage-drbd_aoe_lvm-lvm-initramfs-updated:
  argv.run:
    - argv: {{ (L.update_initramfs.split() if L.update_initramfs is string else L.update_initramfs) | tojson }}
    - onchanges:
      - file: storage-drbd_aoe_lvm-lvm-conf-others-disabled
      - file: storage-drbd_aoe_lvm-lvm-conf-devices
