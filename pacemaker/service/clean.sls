# -*- coding: utf-8 -*-
# vim: ft=sls
pacemaker-service-clean-placeholder:
  test.nop: []
