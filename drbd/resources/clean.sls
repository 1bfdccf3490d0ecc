# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Resources are left as they are: taking DRBD down (and demoting) is an operator or
    Pacemaker decision, never a side effect of removing the formula's files. #}
drbd-resources-clean:
  test.nop: []
