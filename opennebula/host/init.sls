# -*- coding: utf-8 -*-
# vim: ft=sls
{#- opennebula.host: host preparation on every node (front-ends, hypervisors, storage servers).
      opennebula.host.hosts    /etc/hosts: every node and VIP on every network (as in the
                               Pacemaker/DRBD guide)
      opennebula.host.bonding  bonds from cluster:bonds:<minion id> (Debian ifupdown + ifenslave)
      opennebula.host.time     chrony to cluster:time servers/pools
    Selected by nothing but the pillar: every node gets all three. #}
include:
  - opennebula.host.hosts
  - opennebula.host.bonding
  - opennebula.host.time
