# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Resources are left as they are: taking DRBD down is an operator decision. #}
drbd-resources-clean:
  test.nop: []
