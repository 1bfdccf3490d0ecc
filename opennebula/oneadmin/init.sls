# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The oneadmin account and its ssh keys: common/oneadmin.sls, shared with the storage layer
    (the NFS server and the ssh datastores directory need the account too). #}
include:
  - common.oneadmin
