# -*- coding: utf-8 -*-
# vim: ft=sls
opennebula-register-clean-placeholder:
  test.nop: []
