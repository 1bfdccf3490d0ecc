# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Registered hosts and datastores hold VMs and images: never removed by `clean`
    (one.host_absent / one.datastore_absent refuse non-empty ones anyway; do it by hand). #}
opennebula-register-clean-nothing:
  test.nop: []
