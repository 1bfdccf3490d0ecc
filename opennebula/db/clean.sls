# -*- coding: utf-8 -*-
# vim: ft=sls
opennebula-db-clean-placeholder:
  test.nop: []
