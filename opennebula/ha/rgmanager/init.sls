# -*- coding: utf-8 -*-
# vim: ft=sls
{#- The Red Hat cluster guide: the OpenNebula front-end made HA by the Red Hat cluster suite
    (cman/corosync, rgmanager, ccs, ricci) on RedHat-family 6. common/model.py refuses this
    stack on other families. #}
include:
  - opennebula.ha.rgmanager.package
  - opennebula.ha.rgmanager.config
  - opennebula.ha.rgmanager.service
