# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Hypervisors and datastores registered in oned (the NFSv4 guide's `onehost create`, the
    LINSTOR guide's datastores), through the one states with the connection passed explicitly
    (endpoint + oneadmin's one_auth file). Only when opennebula:register:hosts / :datastores are
    true; the marketplaces opennebula:register:marketplaces lists are enabled or disabled.
    Runs on one front-end: see opennebula/register/active.jinja (first front-end under
    raft/none, the holder of the VIP under pacemaker/rgmanager).

    Datastores per storage variant (names fixed; opennebula:register:datastore_templates
    merges attribute overrides per datastore name):
      ssh           system (SYSTEM_DS, TM ssh), default (IMAGE_DS, fs/ssh): oned's own two
      nfs           nfs_system (TM shared), nfs_images (fs/shared)
      moosefs       mfs_system (TM shared), mfs_images (fs/shared) on storage:datastores_path
      drbd_aoe_lvm  lvm_system (TM fs_lvm, VG_NAME, BRIDGE_LIST = front-ends),
                    lvm_images (fs/fs_lvm, DISK_TYPE BLOCK, BRIDGE_LIST = front-ends)
      linstor       linstor_system_auto_place, linstor_image_auto_place (the LINSTOR guide):
                    LINSTOR_AUTO_PLACE = place_count, LINSTOR_STORAGE_POOL, BRIDGE_LIST =
                    the LINSTOR satellites #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- from "opennebula/register/active.jinja" import active_here, active_guard, active_vip with context %}
{%- set R = opennebula.register %}
{%- set ST = model.settings.storage %}
{%- set one_auth_file = opennebula.oneadmin.home ~ "/.one/one_auth" %}
{%- set cluster = R.get("cluster", "default") %}
{%- if active_here and (R.hosts or R.datastores or R.marketplaces) %}
include:
  - opennebula.config
{%-   macro conn() %}
    - endpoint: {{ opennebula.endpoint }}
    - one_auth_file: {{ one_auth_file }}
{{- active_guard() }}
    - require:
      - file: opennebula-config-one-auth
{%-     if active_vip %}
      - one: opennebula-register-wait-for-active
{%-     else %}
      - one: opennebula-register-wait-for-oned
{%-     endif %}
{%-   endmacro %}
{%-   if active_vip %}
{%-     set L = opennebula.lookup %}

{#- The cluster starts the group (VIPs, then oned) on the active front-end only after
    pacemaker.resources/rgmanager wrote it, possibly later in this very run or in the other
    front-end's: wait (bounded) until the VIP answers from another front-end, or is here and
    oned answers API requests (one.oned_ready: an open port is not enough), so the
    active_vip guard below decides on a settled cluster instead of skipping registration
    until the next run. #}
opennebula-register-wait-for-active:
  one.oned_ready:
    - vip: {{ active_vip | string | tojson }}
    - timeout: {{ L.oned.active_wait }}
    - endpoint: {{ opennebula.endpoint }}
    - one_auth_file: {{ one_auth_file }}
    - require:
      - file: opennebula-config-one-auth
{%-   else %}
{%-     set L = opennebula.lookup %}

{#- raft/none: oned answers API requests (raft: a leader is elected; "no leader found" for
    seconds after its port opens), waited for up to lookup oned:start_wait seconds. #}
opennebula-register-wait-for-oned:
  one.oned_ready:
    - timeout: {{ L.oned.start_wait }}
    - endpoint: {{ opennebula.endpoint }}
    - one_auth_file: {{ one_auth_file }}
    - require:
      - file: opennebula-config-one-auth
{%-   endif %}

{%-   if R.hosts %}
{%-     for hv in model.hypervisors %}

opennebula-register-host-{{ hv }}:
  one.host_present:
    - name: {{ hv }}
    - im_mad: {{ R.im_mad }}
    - vm_mad: {{ R.vm_mad }}
    - cluster: {{ cluster }}
{{- conn() }}
{%-     endfor %}
{%-   endif %}

{%-   if R.datastores %}
{%-     set fes = model.frontends | join(" ") %}
{%-     if model.variant == "ssh" %}
{%-       set dss = {
            "system": {"TYPE": "SYSTEM_DS", "TM_MAD": "ssh"},
            "default": {"TYPE": "IMAGE_DS", "DS_MAD": "fs", "TM_MAD": "ssh"},
          } %}
{%-     elif model.variant in ["nfs", "moosefs"] %}
{%-       set pre = "nfs" if model.variant == "nfs" else "mfs" %}
{%-       set dss = {
            pre ~ "_system": {"TYPE": "SYSTEM_DS", "TM_MAD": "shared"},
            pre ~ "_images": {"TYPE": "IMAGE_DS", "DS_MAD": "fs", "TM_MAD": "shared"},
          } %}
{%-     elif model.variant == "drbd_aoe_lvm" %}
{%-       set dss = {
            "lvm_system": {"TYPE": "SYSTEM_DS", "TM_MAD": "fs_lvm", "VG_NAME": ST.drbd_aoe_lvm.vg,
                           "BRIDGE_LIST": fes},
            "lvm_images": {"TYPE": "IMAGE_DS", "DS_MAD": "fs", "TM_MAD": "fs_lvm",
                           "DISK_TYPE": "BLOCK", "BRIDGE_LIST": fes},
          } %}
{%-     else %}
{%-       set pools = ST.linstor.pools.keys() | list | sort %}
{%-       set by_sys = [] %}{%- set by_img = [] %}
{%-       for p in pools %}
{%-         if "system" in p %}{%- do by_sys.append(p) %}{%- endif %}
{%-         if "image" in p %}{%- do by_img.append(p) %}{%- endif %}
{%-       endfor %}
{%-       set sys_pool = R.get("linstor_system_pool") or (by_sys | first) or (pools | first) %}
{%-       set img_pool = R.get("linstor_image_pool") or (by_img | first) or (pools | last) %}
{%-       set bridges = model.linstor_satellites | join(" ") %}
{%-       set dss = {
            "linstor_system_auto_place": {"TM_MAD": "linstor", "TYPE": "SYSTEM_DS",
                "LINSTOR_AUTO_PLACE": ST.linstor.place_count, "LINSTOR_STORAGE_POOL": sys_pool,
                "BRIDGE_LIST": bridges},
            "linstor_image_auto_place": {"DS_MAD": "linstor", "TM_MAD": "linstor",
                "TYPE": "IMAGE_DS", "DISK_TYPE": "BLOCK",
                "LINSTOR_AUTO_PLACE": ST.linstor.place_count, "LINSTOR_STORAGE_POOL": img_pool,
                "BRIDGE_LIST": bridges},
          } %}
{%-     endif %}
{%-     set overrides = R.get("datastore_templates", {}) or {} %}
{%-     for name, tmpl in dss | dictsort %}
{%-       set tmpl = salt["defaults.merge"](tmpl, overrides.get(name, {}) or {}, in_place=False) %}

opennebula-register-datastore-{{ name }}:
  one.datastore_present:
    - name: {{ name }}
    - template: {{ tmpl | tojson }}
    - cluster: {{ cluster }}
{{- conn() }}
{%-     endfor %}
{%-   endif %}

{%-   for mname, mset in R.marketplaces | dictsort %}

opennebula-register-marketplace-{{ mname | replace(" ", "-") }}:
  one.marketplace_{{ "enabled" if mset.enabled else "disabled" }}:
    - name: {{ mname | tojson }}
{{- conn() }}
{%-   endfor %}
{%- endif %}
