# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The Pacemaker resource graph, assembled from the high-level pillar (never hand-written
    per site): cluster:vips, storage:variant (+ storage:<variant>, drbd:resources),
    pacemaker:services, opennebula:proxy:server, pacemaker:stonith/properties/rsc_defaults/
    op_defaults and the pacemaker:extra_resources / extra_constraints escape hatches.

    Who writes: the CIB is replicated by Pacemaker, so only ONE front-end writes it:
    pacemaker:lookup:cib_writer, by default the first front-end in sorted order
    (model.first_frontend). The other front-ends render a note and no graph state (two
    writers would race: each state is a read-modify-replace of a CIB section). Set
    pacemaker:lookup:cib_writer to another front-end while the first one is down for good.
    With pacemaker:lookup:cib set (an offline CIB file: staging, tests) any minion renders
    the graph and every state works on that file.

    Order (each state requires the one before it, after a bounded wait for a DC):
      [crm.cib_staged: a copy of the CIB the graph states edit] -> fence devices ->
      cluster properties (stonith-enabled last switched on after the devices
      exist; switched off FIRST when fencing is disabled, or crm_verify refuses resources;
      with SBD a fence_sbd device on the SBD devices, or stonith-watchdog-timeout for
      watchdog-only; and first of all have-watchdog=true read back from the CIB)
      -> rsc_defaults/op_defaults -> primitives and promotable clones -> ha_group ->
      constraints -> pacemaker:extra_resources -> pacemaker:extra_constraints
      -> [crm.cib_pushed: the whole difference in ONE cibadmin --patch] (lookup stage_dir).

    Every primitive and fence device is checked against this node's resource agents first
    (crm.resource_present: installed, params declared by the agent's metadata, required ones
    given; test=True too): a refused one fails its state and, the push requiring it,
    nothing is written. pacemaker:lookup:check_agents false skips the check (an offline
    CIB built on a host that is not a cluster node).

    The graph per storage variant (ha_group members in order):
      drbd_aoe_lvm (the Pacemaker/DRBD guide): <storage net>_ip, <other nets>_ip..., fs_one,
          nfs_server, nfs_one, aoe_data, services..., proxy; ms_drbd_one/ms_drbd_data promotable
          clones of ocf:linbit:drbd; ha_col (ha_group with both Promoted), ha_after_drbd (both
          promote, then ha_group start)
      linstor: VIPs, linstor_controller, services, proxy
      ssh, moosefs, nfs (always a dedicated server; HA NFS from the front-ends is
          drbd_aoe_lvm's nfs_one): VIPs, services, proxy
    services = pacemaker:services (default [opennebula]: OpenNebula = the unit opennebula;
    sunstone, fireedge optional), proxy = opennebula:proxy:server (lighttpd|nginx);
    ids and units in pacemaker:lookup:service_resources, each run by
    pacemaker:lookup:service_agent (ocf:opennebula-ha:SystemdUnit unit=<unit>, installed by
    pacemaker.agents; `systemd` for Pacemaker's systemd class, systemd:<unit>). -#}
{%- from "pacemaker/map.jinja" import model, pacemaker with context %}
{%- set L = pacemaker.lookup %}
{%- set cib = L.cib | default("", true) | string %}
{%- set writer = L.cib_writer or model.first_frontend %}
{%- if model.stack == "pacemaker" and (cib or (model.is_frontend and model.id == writer)) %}
{%-   set C = model.settings.cluster %}
{%-   set ON = model.settings.opennebula %}
{%-   set ST = model.settings.storage %}
{%-   set DR = model.settings.drbd %}
{%-   set stonith = pacemaker.stonith %}
{%-   set fencing = stonith.enabled | to_bool %}
{%-   set graph = [] %}
{%-   set generated = [] %}

{#-   ---- fencing and cluster-wide settings ------------------------------------------ #}
{#-   SBD (pacemaker.sbd configures the nodes): mode disk adds a fence_sbd device on the
      SBD devices to the fence devices; mode watchdog (diskless) fences through
      stonith-watchdog-timeout (twice the watchdog timeout unless set). #}
{%-   set sbd = stonith.sbd %}
{%-   set fence_devices = dict(stonith.devices or {}) %}
{%-   set sbd_props = {} %}
{%-   if fencing and model.sbd_enabled %}
{%-     if (sbd.mode | string) == "disk" %}
{%-       if L.sbd_resource_id in fence_devices %}
{{-         raise("pacemaker:stonith:devices:" ~ L.sbd_resource_id ~ ": is the generated SBD fence device's id (pacemaker:lookup:sbd_resource_id); allowed: another id") }}
{%-       endif %}
{%-       set sbd_params = {"devices": sbd.devices | map(attribute="path") | join(",")} %}
{%-       do fence_devices.update({L.sbd_resource_id: {"agent": "fence_sbd", "params": sbd_params} }) %}
{%-     else %}
{%-       do sbd_props.update({"stonith-watchdog-timeout": (sbd.stonith_watchdog_timeout | int) or 2 * (sbd.watchdog_timeout | int)}) %}
{%-     endif %}
{%-   endif %}
{%-   if fencing %}
{%-     for dname, dev in fence_devices | dictsort %}
{%-       set params = dict(dev.get("params", {}) or {}) %}
{%-       if model.frontends | length == 2 and stonith.pcmk_delay_max
              and "pcmk_delay_max" not in params and "pcmk_delay_base" not in params %}
{%-         do params.update({"pcmk_delay_max": stonith.pcmk_delay_max}) %}
{%-       endif %}
{%-       set hidden = [] %}
{%-       if dev.get("password_pillar") %}
{%-         set pw_param = dev.get("password_param", "password") %}
{%-         do params.update({pw_param: salt["pillar.get"](dev.password_pillar, "") | string}) %}
{%-         do hidden.append(pw_param) %}
{%-       endif %}
{%-       set args = {"agent": dev.agent, "params": params, "ops": dev.get("ops", L.ops.stonith)} %}
{%-       if dev.get("meta") %}{%- do args.update({"meta": dev.meta}) %}{%- endif %}
{%-       if hidden %}{%- do args.update({"hidden_params": hidden}) %}{%- endif %}
{%-       do graph.append({"id": "stonith-" ~ dname, "fun": "crm.stonith_present", "name": dname, "args": args}) %}
{%-       do generated.append(dname) %}
{%-     endfor %}
{%-   endif %}
{%-   set props = {"no-quorum-policy": "stop"} %}
{#-   fencing's own defaults (common/model.py fencing_defaults): priority-fencing-delay on two
      front-ends, stonith-timeout for fence_sbd; the pillar's properties win #}
{%-   do props.update(model.fencing_properties if fencing else {}) %}
{%-   do props.update(pacemaker.properties or {}) %}
{%-   do props.update(sbd_props) %}
{%-   do props.update({"stonith-enabled": fencing}) %}
{%-   do graph.append({"id": "properties", "fun": "crm.property_present", "name": "cluster-properties", "args": {"properties": props, "section": "crm_config"} }) %}
{%-   set rsc_defaults = dict(model.fencing_rsc_defaults if fencing else {}) %}
{%-   do rsc_defaults.update(pacemaker.rsc_defaults or {}) %}
{%-   if rsc_defaults %}
{%-     do graph.append({"id": "rsc-defaults", "fun": "crm.property_present", "name": "rsc-defaults", "args": {"properties": rsc_defaults, "section": "rsc_defaults"} }) %}
{%-   endif %}
{%-   if pacemaker.op_defaults %}
{%-     do graph.append({"id": "op-defaults", "fun": "crm.property_present", "name": "op-defaults", "args": {"properties": pacemaker.op_defaults, "section": "op_defaults"} }) %}
{%-   endif %}

{#-   ---- primitives ------------------------------------------------------------------ #}
{%-   set members = [] %}
{%-   macro primitive(rid, agent, params, ops, member=true) %}
{%-     do graph.append({"id": "primitive-" ~ rid, "fun": "crm.resource_present", "name": rid, "args": {"agent": agent, "params": params, "ops": ops} }) %}
{%-     do generated.append(rid) %}
{%-     if member %}{%- do members.append(rid) %}{%- endif %}
{%-   endmacro %}
{%-   macro service(slot) %}
{%-     set svc = L.service_resources.get(slot) %}
{%-     if not svc %}
{{-       raise("pacemaker:services: unknown service slot '" ~ slot ~ "'; allowed: " ~ (L.service_resources.keys() | list | sort | join(", ")) ~ " (or add it to pacemaker:lookup:service_resources)") }}
{%-     endif %}
{%-     if (L.service_agent | string) == "systemd" %}
{{-       primitive(svc.id, "systemd:" ~ svc.unit, {}, L.ops.service) }}
{%-     else %}
{{-       primitive(svc.id, L.service_agent | string, {"unit": svc.unit}, L.ops.service) }}
{%-     endif %}
{%-   endmacro %}

{#-   VIPs: the storage network's first (hypervisors reach storage and oned there). #}
{%-   set vip_nics = pacemaker.get("vip_nics", {}) or {} %}
{%-   set vip_nets = [] %}
{%-   if model.storage_network in C.vips %}{%- do vip_nets.append(model.storage_network) %}{%- endif %}
{%-   for net in C.vips | sort %}{%- if net not in vip_nets %}{%- do vip_nets.append(net) %}{%- endif %}{%- endfor %}
{%-   for net in vip_nets %}
{%-     set params = {"ip": C.vips[net] | string, "cidr_netmask": model.networks[net].prefix} %}
{%-     if vip_nics.get(net) %}{%- do params.update({"nic": vip_nics[net]}) %}{%- endif %}
{{-     primitive(net ~ "_ip", "ocf:heartbeat:IPaddr2", params, L.ops.vip) }}
{%-   endfor %}

{%-   set clones = [] %}
{%-   if model.variant == "drbd_aoe_lvm" %}
{%-     set DA = ST.drbd_aoe_lvm %}
{%-     set clone_max = 2 if (DR.syntax | string) == "8.4" else model.frontends | length %}
{%-     for short, res in [("one", DA.one_disk), ("data", DA.data_disk)] %}
{{-       primitive("drbd_" ~ short, "ocf:linbit:drbd", {"drbd_resource": res}, L.ops.drbd, member=false) }}
{%-       set meta = dict(L.drbd_clone_meta) %}
{%-       do meta.update({"clone-max": clone_max}) %}
{%-       do graph.append({"id": "clone-ms_drbd_" ~ short, "fun": "crm.clone_present", "name": "ms_drbd_" ~ short, "args": {"resource": "drbd_" ~ short, "promotable": true, "meta": meta} }) %}
{%-       do generated.append("ms_drbd_" ~ short) %}
{%-       do clones.append("ms_drbd_" ~ short) %}
{%-     endfor %}
{{-     primitive("fs_one", "ocf:heartbeat:Filesystem", {"device": L.drbd_device | replace("{resource}", DA.one_disk), "directory": DA.one_mount, "fstype": DA.one_fstype}, L.ops.filesystem) }}
{{-     primitive("nfs_server", "ocf:heartbeat:nfsserver", {}, L.ops.nfsserver) }}
{{-     primitive("nfs_one", "ocf:heartbeat:exportfs", {"clientspec": model.networks[model.storage_network].cidr, "directory": DA.one_mount, "fsid": 1, "options": DA.nfs_export_options}, L.ops.exportfs) }}
{{-     primitive("aoe_data", L.aoe_agent, {"device": L.drbd_device | replace("{resource}", DA.data_disk), "nic": DA.aoe.nic, "shelf": DA.aoe.shelf, "slot": DA.aoe.slot, "binary": L.vblade_binary}, L.ops.aoe) }}
{%-   elif model.variant == "linstor" %}
{{-     service("linstor_controller") }}
{%-   endif %}
{%-   for slot in pacemaker.get("services", ["opennebula"]) or [] %}
{{-     service(slot) }}
{%-   endfor %}
{{-   service(ON.proxy.server) }}

{#-   ---- group and constraints ------------------------------------------------------- #}
{%-   do graph.append({"id": "group-ha_group", "fun": "crm.group_present", "name": "ha_group", "args": {"members": members} }) %}
{%-   do generated.append("ha_group") %}
{%-   if clones %}
{%-     do graph.append({"id": "colocation-ha_col", "fun": "crm.colocation_present", "name": "ha_col", "args": {"score": "INFINITY", "resources": ["ha_group"] + clones | map("regex_replace", "$", ":Promoted") | list} }) %}
{%-     do graph.append({"id": "order-ha_after_drbd", "fun": "crm.order_present", "name": "ha_after_drbd", "args": {"kind": "Mandatory", "resources": clones | map("regex_replace", "$", ":promote") | list + ["ha_group:start"]} }) %}
{%-     do generated.extend(["ha_col", "ha_after_drbd"]) %}
{%-   endif %}

{#-   ---- site extras: name -> crm state arguments + `type: <crm state function>` ------ #}
{%-   set extra_types = {
        "extra_resources": ["resource_present", "stonith_present", "clone_present", "group_present", "resource_absent", "property_present", "property_absent"],
        "extra_constraints": ["colocation_present", "order_present", "location_present", "constraint_absent"],
      } %}
{#-   dependency order whatever the pillar's key order: primitives, then groups of them,
      then clones (of a primitive or a group), then removals; constraints after resources. #}
{%-   set rank = {"property_present": 0, "property_absent": 0, "resource_present": 1, "stonith_present": 1,
                  "group_present": 2, "clone_present": 3, "resource_absent": 4} %}
{%-   for key in ["extra_resources", "extra_constraints"] %}
{%-     set extras = pacemaker.get(key, {}) or {} %}
{%-     set ordered = [] %}
{%-     for ename in extras %}
{%-       set spec = extras[ename] %}
{%-       set etype = (spec.get("type", "") if spec is mapping else "") | string | replace("crm.", "") %}
{%-       do ordered.append((rank.get(etype, 5), loop.index, ename)) %}
{%-     endfor %}
{%-     for _r, _i, ename in ordered | sort %}
{%-       set spec = extras[ename] %}
{%-       if spec is not none %}
{%-         set path = "pacemaker:" ~ key ~ ":" ~ ename %}
{%-         set etype = (spec.get("type", "") if spec is mapping else "") | string | replace("crm.", "") %}
{%-         if etype not in extra_types[key] %}
{{-           raise(path ~ ":type: '" ~ etype ~ "' is not a crm state for " ~ key ~ "; allowed: " ~ (extra_types[key] | join(", "))) }}
{%-         endif %}
{%-         if ename in generated %}
{{-           raise(path ~ ": '" ~ ename ~ "' is already a resource or constraint of the generated graph; allowed: a new id (change generated ones through pillar/lookup)") }}
{%-         endif %}
{%-         set args = {} %}
{%-         for k, v in spec.items() %}{%- if k not in ["type", "name", "cib"] %}{%- do args.update({k: v}) %}{%- endif %}{%- endfor %}
{%-         do graph.append({"id": "extra-" ~ ename, "fun": "crm." ~ etype, "name": ename, "args": args}) %}
{%-       endif %}
{%-     endfor %}
{%-   endfor %}

{#-   ---- the states ---------------------------------------------------------------------- #}
{#-   Staged (lookup stage_dir, default): crm.cib_staged copies the CIB, every graph state
      edits the copy, crm.cib_pushed writes the difference with one cibadmin --patch. Under
      test=True the graph states read the target directly (nothing is copied or written). #}
{%-   set stage = L.get("stage_dir") | default("", true) | string if not opts.get("test") else "" %}
{%-   set state_cib = stage ~ "/staged.xml" if stage else cib %}
{%-   set dc_kwargs = {"timeout": L.dc_timeout | int} %}
{%-   if cib %}{%- do dc_kwargs.update({"cib": cib}) %}{%- endif %}
pacemaker-resources-wait-for-dc:
  loop.until_no_eval:
    - name: crm.wait_for_dc
    - expected: null
    - compare_operator: ne
    - timeout: {{ (L.dc_timeout | int) + 30 }}
    - period: 5
    - kwargs: {{ dc_kwargs | tojson }}
{%-   if not fencing %}

pacemaker-resources-stonith-disabled-warning:
  test.show_notification:
    - text: >-
        WARNING: fencing is DISABLED (pacemaker:stonith:enabled false,
        i_understand_no_fencing true; stonith-enabled=false in the CIB). A hung or cut-off
        front-end can keep its VIPs, mounts and DRBD Primary while the other one takes
        over: split brain and diverging DRBD data. The Pacemaker/DRBD guide ran like this;
        configure pacemaker:stonith:devices and enable fencing for production.
    - require:
      - pacemaker-resources-wait-for-dc
{%-   endif %}
{%-   set prev = ["pacemaker-resources-wait-for-dc"] %}
{%-   if fencing and model.sbd_enabled and not cib and (L.have_watchdog_wait | int) > 0 %}

{#-   SBD: Pacemaker's DC writes have-watchdog=true when sbd runs under it (started by
      corosync). Read back BEFORE anything is written: a fence_sbd device while sbd does not
      watch its slot on the victim would report fences that never happened. #}
pacemaker-resources-sbd-have-watchdog:
  loop.until_no_eval:
    - name: crm.property_value
    - args: [have-watchdog]
    - expected: "true"
    - compare_operator: eq
    - timeout: {{ L.have_watchdog_wait | int }}
    - period: 5
    - require:
      - pacemaker-resources-wait-for-dc
{%-     do prev.append("pacemaker-resources-sbd-have-watchdog") %}
{%-   endif %}
{%-   if stage %}

pacemaker-resources-stage:
  crm.cib_staged:
    - name: {{ stage | tojson }}
{%-     if cib %}
    - cib: {{ cib | tojson }}
{%-     endif %}
    - require:
      - {{ prev | last }}
{%-     do prev.append("pacemaker-resources-stage") %}
{%-   endif %}
{%-   set check_agents = L.get("check_agents", true) | to_bool %}
{%-   for st in graph %}
{%-     set sid = "pacemaker-resources-" ~ st.id %}
{%-     if not check_agents and st.fun in ["crm.resource_present", "crm.stonith_present"] and "check_agent" not in st.args %}
{%-       do st.args.update({"check_agent": false}) %}
{%-     endif %}

{{ sid }}:
  {{ st.fun }}:
    - name: {{ st.name | string | tojson }}
{%-     for k, v in st.args | dictsort %}
    - {{ k }}: {{ v | tojson }}
{%-     endfor %}
{%-     if state_cib %}
    - cib: {{ state_cib | tojson }}
{%-     endif %}
    - require:
      - {{ prev | last }}
{%-     do prev.append(sid) %}
{%-   endfor %}
{%-   if stage %}

pacemaker-resources-push:
  crm.cib_pushed:
    - name: {{ stage | tojson }}
{%-     if cib %}
    - cib: {{ cib | tojson }}
{%-     endif %}
    - require:
      - {{ prev | last }}
{%-   endif %}
{%- elif model.stack == "pacemaker" and model.is_frontend %}

pacemaker-resources-not-cib-writer:
  test.succeed_without_changes:
    - comment: >-
        The resource graph is written by {{ writer }} only (pacemaker:lookup:cib_writer,
        default the first front-end); Pacemaker replicates the CIB to {{ model.id }}.
{%- endif %}
