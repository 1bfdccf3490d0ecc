# -*- coding: utf-8 -*-
# vim: ft=sls
opennebula-ha-raft-clean:
  test.nop: []
