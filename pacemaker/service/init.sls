# -*- coding: utf-8 -*-
# vim: ft=sls
{#- corosync, then pacemaker: enabled and running on every front-end.

    When corosync.conf or the authkey change, corosync is restarted ONLY where that is safe:
    where the running corosync is not a member of this cluster (its runtime cluster_name is
    not cluster:name, e.g. the Debian package's own default config right after install).
    (corosync.is_member: corosync-cmapctl -g totem.cluster_name, no shell.)
    A node that is already a member is never restarted by Salt (that would stop pacemaker
    under its resources and fail them over): a changed corosync.conf is reloaded cluster-wide
    with `corosync-cfgtool -R` instead (nodelist, token and most totem timings reload at run
    time; transport, crypto and cluster_name do not). A changed authkey, transport, crypto
    setting or cluster name on a running cluster needs an operator-driven rolling restart
    (`crm cluster restart` node by node, or a full cluster stop/start for the authkey). -#}
{%- from "pacemaker/map.jinja" import model, pacemaker with context %}
{%- if model.is_frontend and model.stack == "pacemaker" %}
{%-   set L = pacemaker.lookup %}
{%-   set cluster_name = model.settings.cluster.name | string | tojson %}
include:
  - pacemaker.config

pacemaker-service-corosync-restart-foreign:
  argv.run:
    - argv: [systemctl, restart, {{ L.corosync_service | string | tojson }}]
    - onchanges:
      - pacemaker-config-corosync-conf
      - pacemaker-config-authkey
    - onlyif:
      - fun: service.status
        name: {{ L.corosync_service | string | tojson }}
    - unless:
      - fun: corosync.is_member
        args: [{{ cluster_name }}]

pacemaker-service-corosync-reload:
  argv.run:
    - argv: [corosync-cfgtool, -R]
    - onchanges:
      - pacemaker-config-corosync-conf
    - onlyif:
      - fun: corosync.is_member
        args: [{{ cluster_name }}]
    - require:
      - argv: pacemaker-service-corosync-restart-foreign

pacemaker-service-authkey-changed-warning:
  test.show_notification:
    - text: >-
        The corosync authkey changed on a running member of cluster
        {{ model.settings.cluster.name }}: it is NOT restarted by Salt. Apply the new key on
        every front-end, then stop the cluster on all of them and start it again (nodes with
        different keys cannot talk).
    - onchanges:
      - pacemaker-config-authkey
    - onlyif:
      - fun: corosync.is_member
        args: [{{ cluster_name }}]

pacemaker-service-corosync-running:
  service.running:
    - name: {{ L.corosync_service }}
    - enable: true
    - require:
      - pacemaker-config-corosync-conf
      - pacemaker-config-authkey
      - argv: pacemaker-service-corosync-reload

pacemaker-service-pacemaker-running:
  service.running:
    - name: {{ L.pacemaker_service }}
    - enable: true
    - require:
      - service: pacemaker-service-corosync-running
{%- endif %}
