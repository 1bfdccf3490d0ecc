# -*- coding: utf-8 -*-
# vim: ft=sls
storage-nfs-clean-placeholder:
  test.nop: []
