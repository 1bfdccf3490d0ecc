# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Keeps storage:datastores_path: it holds VM disks and images. #}
storage-ssh-clean-keep-datastores:
  test.nop: []
