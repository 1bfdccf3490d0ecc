# -*- coding: utf-8 -*-
# vim: ft=sls
{#- LAB ONLY. OpenNebula packages cannot be fetched here, so on the lab's front-ends the
    loopback oned XML-RPC TEST DOUBLE (test/doubles/oned_double.py) is installed as the
    `opennebula` systemd unit that Pacemaker starts in ha_group. It is not OpenNebula: it
    implements the one.* calls our `one` states use, on 127.0.0.1:2633, and nothing else.
    Run through lab/salt/lab/oned_double_run.py, which keeps its pools in oned's (replicated)
    database like oned does, so a failover keeps what opennebula.register created.
    Listed before `opennebula` in lab/salt/top.sls so the unit exists before the cluster
    tries to start it. Only where the pillar says `lab:oned_double: true` (the VM tier): the
    container lab runs real OpenNebula, built from source into its base image. #}
{%- set frontends = salt["pillar.get"]("cluster:frontends", {}) %}
{%- if salt["pillar.get"]("lab:oned_double", false) is sameas true and grains["id"] in frontends %}
{%-   set auth = (salt["pillar.get"]("secrets:one_auth", "oneadmin:opennebula") | string).split(":", 1) %}
{%-   set sql = salt["pillar.get"]("opennebula:db:backend", "mariadb") != "sqlite" %}
{%-   set db = salt["pillar.get"]("opennebula:db:name", "opennebula") if sql else "" %}
lab-oned-double-script:
  file.managed:
    - name: /usr/local/lib/onelab/oned_double.py
    - source: salt://test/doubles/oned_double.py
    - makedirs: true
    - mode: '0644'

lab-oned-double-runner:
  file.managed:
    - name: /usr/local/lib/onelab/oned_double_run.py
    - source: salt://lab/oned_double_run.py
    - makedirs: true
    - mode: '0644'

lab-oned-double-unit:
  file.managed:
    - name: /etc/systemd/system/opennebula.service
    - mode: '0600'
    - show_changes: false
    - contents: |
        # LAB ONLY (opennebula-ha-formula lab/salt/lab/oned_double.sls)
        [Unit]
        Description=oned TEST DOUBLE (lab only; loopback XML-RPC double, not OpenNebula)
        After=network.target mariadb.service

        [Service]
        ExecStart=/usr/bin/python3 /usr/local/lib/onelab/oned_double_run.py --host 127.0.0.1 --port 2633{{ " --db " ~ db if db else "" }} --user {{ auth[0] }} --password {{ auth[1] if auth | length > 1 else "" }}
        Restart=on-failure
    - require:
      - file: lab-oned-double-script
      - file: lab-oned-double-runner

lab-oned-double-daemon-reload:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: lab-oned-double-unit
{%- endif %}
