# -*- coding: utf-8 -*-
# vim: ft=sls
pacemaker-resources-clean-placeholder:
  test.nop: []
