# -*- coding: utf-8 -*-
# vim: ft=sls
opennebula-recover-clean-nothing:
  test.nop: []
