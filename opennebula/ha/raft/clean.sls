# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The zone's server list lives in oned's replicated DB: `onezone server-del` it by hand
    (removing a server from a running raft zone changes its quorum). #}
opennebula-ha-raft-clean:
  test.nop: []
