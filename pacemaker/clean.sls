# -*- coding: utf-8 -*-
# vim: ft=sls
include:
  - pacemaker.service.clean
  - pacemaker.config.clean
