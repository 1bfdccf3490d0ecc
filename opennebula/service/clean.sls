# -*- coding: utf-8 -*-
# vim: ft=sls
opennebula-service-clean-placeholder:
  test.nop: []
