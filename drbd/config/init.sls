# -*- coding: utf-8 -*-
# vim: ft=sls
{#- drbd.config: global_common.conf + one <name>.res per drbd:resources entry, from the TOFS
    templates drbd/files/default/*.jinja (their context is documented at their top).

    Peers are the front-ends (cluster:frontends) with their address on drbd:network
    (default san); the `on` host name is the minion id unless drbd:node_names maps it to the
    node's `uname -n`. Written for drbd:syntax ('8.4' = Debian 12's in-tree module, or '9').
    Changing a file does not touch a running resource here: drbd.resources runs
    `drbdadm adjust` through drbd.resource_up when the running setup differs.
    Fencing: drbd:common:fencing, by default resource-and-stonith with the crm-fence-peer
    handlers when the Pacemaker/DRBD guide's variant (drbd_aoe_lvm) runs with SBD fencing
    (model.drbd_fencing; pacemaker:stonith:sbd). -#}
{%- from "drbd/map.jinja" import model, drbd with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set node_names = model.drbd_node_names %}
{%- set glob = model.drbd_global %}
{%- set C = drbd.common or {} %}
{%- set common = {
      "protocol": C.get("protocol"),
      "resync_rate": C.get("resync_rate"),
      "fencing": C.get("fencing") or model.drbd_fencing or none,
      "crm_fence_handlers": C.get("crm_fence_handlers", True),
      "quorum": C.get("quorum"),
      "on_no_quorum": C.get("on_no_quorum"),
      "handlers": C.get("handlers") or {},
      "resource_options": C.get("options") or {},
      "net_options": C.get("net") or {},
      "disk_options": C.get("disk") or {},
      "startup_options": C.get("startup") or {},
    } %}
{%- set nodes = {} %}
{%- for fe in model.frontends %}
{%-   set addr = {"address": model.nodes[fe][drbd.network]} %}
{%-   do nodes.update({node_names.get(fe, fe): addr}) %}
{%- endfor %}

include:
  - drbd.package

drbd-config-global-common:
  file.managed:
    - name: {{ drbd.lookup.global_common }}
    - source: {{ files_switch(["global_common.conf.jinja"], lookup="drbd-global-common", tplroot="drbd") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - mode: '0644'
    - makedirs: true
    - context:
        syntax: {{ drbd.syntax | string | tojson }}
        usage_count: {{ glob.get("usage_count", "no") | string | tojson }}
        udev_always_use_vnr: {{ glob.get("udev_always_use_vnr", False) | tojson }}
        disable_ip_verification: {{ glob.get("disable_ip_verification", False) | tojson }}
        global_options: {{ glob.get("options", {}) | tojson }}
        common: {{ common | tojson }}
    - require:
      - pkg: drbd-package-installed

{%- for rname, res in drbd.resources | dictsort %}
{%-   set r = {"name": rname, "nodes": nodes} %}
{%-   for key in ["minor", "device", "disk", "meta_disk", "meta_index", "port", "address_family",
                  "protocol", "resync_rate", "fencing", "crm_fence_handlers", "quorum", "on_no_quorum"] %}
{%-     if res.get(key) is not none %}{%- do r.update({key: res[key]}) %}{%- endif %}
{%-   endfor %}
{%-   do r.update({
        "handlers": res.get("handlers") or {},
        "resource_options": res.get("options") or {},
        "net_options": res.get("net") or res.get("net_options") or {},
        "disk_options": res.get("disk_options") or {},
        "startup_options": res.get("startup") or res.get("startup_options") or {},
      }) %}

drbd-config-resource-{{ rname }}:
  file.managed:
    - name: {{ drbd.lookup.config_dir }}/{{ rname }}.res
    - source: {{ files_switch(["resource.res.jinja"], lookup="drbd-resource", tplroot="drbd") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - mode: '0644'
    - makedirs: true
    - context:
        syntax: {{ drbd.syntax | string | tojson }}
        resource: {{ r | tojson }}
    - require:
      - pkg: drbd-package-installed
{%- endfor %}
