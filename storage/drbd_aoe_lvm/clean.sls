# -*- coding: utf-8 -*-
# vim: ft=sls
storage-drbd_aoe_lvm-clean-placeholder:
  test.nop: []
