# -*- coding: utf-8 -*-
# vim: ft=sls
{#- oned.conf belongs to the opennebula package (opennebula.package.clean removes it) and
    ~oneadmin/.one/one_auth is oneadmin's credential for oned and the CLI: both are kept. #}
opennebula-config-clean-kept:
  test.nop: []
