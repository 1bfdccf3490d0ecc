# -*- coding: utf-8 -*-
# vim: ft=sls
pacemaker-config-clean-placeholder:
  test.nop: []
