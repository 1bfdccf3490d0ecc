# -*- coding: utf-8 -*-
# vim: ft=sls
storage-linstor-clean-placeholder:
  test.nop: []
