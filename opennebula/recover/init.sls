# -*- coding: utf-8 -*-
# vim: ft=sls
{#- opennebula.recover: an orchestration step operators run after a front-end failover
    (the Red Hat cluster guide), not part of the highstate:
      salt -C 'I@cluster:frontends:*' state.apply opennebula.recover
      (or on the active front-end: salt-call state.apply opennebula.recover, with
      opennebula:recover_transient set in the pillar, or passed as pillar= on the command line)
    VMs stuck in transient states are listed (opennebula:recover_transient report, the
    default) or recovered as success/failure/retry (`onevm recover`). Runs where register
    runs (opennebula/register/active.jinja): the active front-end only. #}
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
