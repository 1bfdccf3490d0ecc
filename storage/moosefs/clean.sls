# -*- coding: utf-8 -*-
# vim: ft=sls
storage-moosefs-clean-placeholder:
  test.nop: []
