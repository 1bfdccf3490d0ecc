# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Hypervisors and datastores registered in oned (the NFSv4 guide's `onehost create`, the
    LINSTOR guide's datastores), through the one states with the connection passed explicitly
    (endpoint + oneadmin's one_auth file). Only when opennebula:register:hosts / :datastores are
    true; the marketplaces opennebula:register:marketplaces lists are enabled or disabled.
    Runs on one front-end: see opennebula/register/active.jinja (first front-end under
    raft/none, the holder of the VIP under pacemaker/rgmanager).

    Datastores: the ones the storage variant in use defines, explicitly, in
    storage/<variant>/datastores.yaml (storage/datastores.jinja resolves them: VG, pools,
    bridges, replica count, LINSTOR resource group and controllers); an attribute that names
    another datastore's id (the LINSTOR image datastore's COMPATIBLE_SYS_DS) goes to the
    state as datastore_ids, looked up when it runs, after that datastore's state;
    opennebula:register:datastore_templates merges attribute overrides per datastore name. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- from "opennebula/register/active.jinja" import active_here, active_guard, active_vip with context %}
{%- from "storage/datastores.jinja" import datastores with context %}
{%- set R = opennebula.register %}
{%- set one_auth_file = opennebula.oneadmin.home ~ "/.one/one_auth" %}
{%- set cluster = R.get("cluster", "default") %}
{%- if active_here and (R.hosts or R.datastores or R.marketplaces) %}
include:
  - opennebula.config
{%-   macro conn(after=[]) %}
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
{%-     for sid in after %}
      - one: {{ sid }}
{%-     endfor %}
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
{%-     set overrides = R.get("datastore_templates", {}) or {} %}
{%-     for name, tmpl in datastores | dictsort %}
{%-       set tmpl = salt["defaults.merge"](tmpl, overrides.get(name, {}) or {}, in_place=False) %}
{#-       {datastore: <name>} values (storage/datastores.jinja): the id of that datastore,
          looked up by the state once it exists (registered first: require) #}
{%-       set literal, ids, after = {}, {}, [] %}
{%-       for key, value in tmpl.items() %}
{%-         if value is mapping and value | length == 1 and "datastore" in value %}
{%-           do ids.update({key: value.datastore}) %}
{%-           do after.append("opennebula-register-datastore-" ~ value.datastore) %}
{%-         else %}
{%-           do literal.update({key: value}) %}
{%-         endif %}
{%-       endfor %}

opennebula-register-datastore-{{ name }}:
  one.datastore_present:
    - name: {{ name }}
    - template: {{ literal | tojson }}
{%-       if ids %}
    - datastore_ids: {{ ids | tojson }}
{%-       endif %}
    - cluster: {{ cluster }}
{{- conn(after | unique | list) }}
{%-     endfor %}
{%-   endif %}

{%-   for mname, mset in R.marketplaces | dictsort %}

opennebula-register-marketplace-{{ mname | replace(" ", "-") }}:
  one.marketplace_{{ "enabled" if mset.enabled else "disabled" }}:
    - name: {{ mname | tojson }}
{{- conn() }}
{%-   endfor %}
{%- endif %}
