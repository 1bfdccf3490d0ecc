# -*- coding: utf-8 -*-
# vim: ft=sls
storage-ssh-clean-placeholder:
  test.nop: []
