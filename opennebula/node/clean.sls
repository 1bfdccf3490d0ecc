# -*- coding: utf-8 -*-
# vim: ft=sls
opennebula-node-clean-placeholder:
  test.nop: []
