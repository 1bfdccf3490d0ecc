# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Remove the resource graph of pacemaker.resources from the CIB (same writer rule and the
    same pacemaker:lookup:cib as pacemaker.resources). Each crm.resource_absent removes the
    constraints that reference the resource in the same write. Order: site extras, ha_group
    with its members, the DRBD clones with their primitives, then the fence devices (last:
    crm_verify refuses a CIB without fence device while stonith-enabled is true, so
    stonith-enabled is set to false just before, when nothing is left to protect). Other
    cluster properties and the defaults are left as they are. -#}
{%- from "pacemaker/map.jinja" import model, pacemaker with context %}
{%- set L = pacemaker.lookup %}
{%- set cib = L.cib | default("", true) | string %}
{%- set writer = L.cib_writer or model.first_frontend %}
{%- if model.stack == "pacemaker" and (cib or (model.is_frontend and model.id == writer)) %}
{%-   set absent = [] %}
{%-   for ename, spec in (pacemaker.get("extra_constraints", {}) or {}).items() %}
{%-     if spec is mapping and (spec.get("type", "") | string).endswith("_present") %}
{%-       do absent.append(("constraint", ename, "crm.constraint_absent", {})) %}
{%-     endif %}
{%-   endfor %}
{%-   for ename, spec in (pacemaker.get("extra_resources", {}) or {}).items() %}
{%-     if spec is mapping and (spec.get("type", "") | string) | replace("crm.", "") in ["resource_present", "clone_present", "group_present", "stonith_present"] %}
{%-       do absent.append(("resource", ename, "crm.resource_absent", {"recursive": true})) %}
{%-     endif %}
{%-   endfor %}
{%-   do absent.append(("resource", "ha_group", "crm.resource_absent", {"recursive": true})) %}
{%-   for clone in ["ms_drbd_one", "ms_drbd_data"] %}
{%-     do absent.append(("resource", clone, "crm.resource_absent", {"recursive": true})) %}
{%-   endfor %}
{%-   set fence_devices = (pacemaker.stonith.devices or {}) | list %}
{%-   if model.sbd_enabled and (pacemaker.stonith.sbd.mode | string) == "disk" %}
{%-     do fence_devices.append(L.sbd_resource_id) %}
{%-   endif %}
{%-   if fence_devices or model.sbd_enabled %}
{#-     nothing is left to protect: crm_verify refuses stonith-enabled=true without devices #}
{%-     do absent.append(("property", "stonith-enabled", "crm.property_present", {"value": false})) %}
{%-   endif %}
{%-   if model.sbd_enabled and (pacemaker.stonith.sbd.mode | string) == "watchdog" %}
{%-     do absent.append(("property", "stonith-watchdog-timeout", "crm.property_absent", {})) %}
{%-   endif %}
{%-   for dname in fence_devices | sort %}
{%-     do absent.append(("resource", dname, "crm.resource_absent", {})) %}
{%-   endfor %}
{%-   set prev = [] %}
{%-   for kind, name, fun, args in absent %}
{%-     set sid = "pacemaker-resources-clean-" ~ kind ~ "-" ~ name %}

{{ sid }}:
  {{ fun }}:
    - name: {{ name | tojson }}
{%-     for k, v in args | dictsort %}
    - {{ k }}: {{ v | tojson }}
{%-     endfor %}
{%-     if cib %}
    - cib: {{ cib | tojson }}
{%-     endif %}
{%-     if prev %}
    - require:
      - {{ prev | last }}
{%-     endif %}
{%-     do prev.append(sid) %}
{%-   endfor %}
{%- endif %}
