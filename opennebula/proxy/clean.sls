# -*- coding: utf-8 -*-
# vim: ft=sls
opennebula-proxy-clean-placeholder:
  test.nop: []
