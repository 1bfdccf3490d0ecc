# -*- coding: utf-8 -*-
# vim: ft=sls
drbd-service-clean:
  test.nop: []
