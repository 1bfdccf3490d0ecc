# -*- coding: utf-8 -*-
# vim: ft=sls
{#- opennebula.recover: VMs a front-end failover left in transient states (the Red Hat cluster
    guide's list), on the active front-end. Part of the highstate (opennebula/init.sls): with
    the default policy opennebula:recover_transient `report` it changes nothing and its comment
    lists what it found; `success`/`failure`/`retry` recover them (`onevm recover`) on the next
    highstate. Operators also run it alone after a failover, with the policy on the command line:
      salt -C 'I@cluster:frontends:*' state.apply opennebula.recover \
        pillar='{ "opennebula": { "recover_transient": "retry" } }'
    (or on the active front-end: salt-call state.apply opennebula.recover pillar=...).
    Runs where register runs (opennebula/register/active.jinja): the active front-end only. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- from "opennebula/register/active.jinja" import active_here, active_guard with context %}
{%- if active_here %}
opennebula-recover-transient:
  one.transient_recovered:
    - policy: {{ opennebula.recover_transient }}
    - include_failed: {{ opennebula.get("recover_include_failed", False) | tojson }}
    - endpoint: {{ opennebula.endpoint }}
    - one_auth_file: {{ opennebula.oneadmin.home }}/.one/one_auth
{{- active_guard() }}
{%- else %}
opennebula-recover-not-here:
  test.nop: []
{%- endif %}
