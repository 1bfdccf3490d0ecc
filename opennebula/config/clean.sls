# -*- coding: utf-8 -*-
# vim: ft=sls
opennebula-config-clean-placeholder:
  test.nop: []
