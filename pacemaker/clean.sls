# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Undo pacemaker (front-ends): the resource graph first (while the cluster still runs),
    then stop corosync/pacemaker, disable sbd, then remove corosync.conf and the authkey. Packages stay
    (pacemaker.package.clean removes them when applied on its own). #}
include:
  - pacemaker.resources.clean
  - pacemaker.agents.clean
  - pacemaker.service.clean
  - pacemaker.sbd.clean
  - pacemaker.config.clean
