# -*- coding: utf-8 -*-
# vim: ft=sls
{#- SBD fencing on the front-ends (pacemaker:stonith:sbd:enabled true, opennebula:ha:stack
    pacemaker): what the sbd daemon needs on each node. The cluster side (the fence_sbd
    stonith resource, stonith-enabled, stonith-watchdog-timeout) is in pacemaker.resources.

    * the sbd package (Debian's; pacemaker:lookup:sbd_pkgs);
    * the watchdog: its driver (pacemaker:stonith:sbd:watchdog:module, e.g. softdog or
      i6300esb) listed in /etc/modules-load.d (boot) and loaded now (kmod.present);
    * /etc/default/sbd: SBD_DEVICE (the devices, ";"-separated; none for watchdog-only),
      SBD_PACEMAKER=yes, SBD_STARTMODE, SBD_DELAY_START, SBD_WATCHDOG_DEV,
      SBD_WATCHDOG_TIMEOUT, and the package's other defaults (lookup sbd_options);
    * the SBD header on each shared device (mode disk): written by the CIB writer only
      (pacemaker:lookup:cib_writer, default the first front-end) through sbd.device_present,
      ONLY on an empty device (anything else is refused unless that device's force_create
      is true); the other front-ends wait for the header (lookup sbd_header_wait) so that
      both never write it;
    * sbd.service ENABLED, never started here: it is RequiredBy/PartOf corosync.service
      (RefuseManualStart), so corosync's start (pacemaker.service) starts it. Everything
      above is required before corosync is started.
    On a front-end where corosync already runs (SBD turned on in a running cluster) sbd
    starts only with corosync: a note says so; restart the cluster node by node
    (`crm cluster restart`), the one with the resources last. -#}
{%- from "pacemaker/map.jinja" import model, pacemaker with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- if model.is_frontend and model.stack == "pacemaker" and model.sbd_enabled %}
{%-   set L = pacemaker.lookup %}
{%-   set S = pacemaker.stonith.sbd %}
{%-   set disk = (S.mode | string) == "disk" %}
{%-   set devices = S.devices if disk else [] %}
{%-   set writer = L.cib_writer or model.first_frontend %}
{%-   set module = S.watchdog.get("module", "") | default("", true) | string %}
{%-   if module and module is not match("^[A-Za-z0-9_-]{1,63}$") %}
{{-     raise("pacemaker:stonith:sbd:watchdog:module: " ~ (module | tojson) ~ " is not a kernel module name") }}
{%-   endif %}
{%-   set cluster_name = model.settings.cluster.name | string | tojson %}
include:
  - pacemaker.package
  - pacemaker.service

pacemaker-sbd-package:
  pkg.installed:
    - pkgs: {{ L.sbd_pkgs | tojson }}
    - require:
      - pkg: pacemaker-package-installed
{%-   if module %}

pacemaker-sbd-watchdog-modules-load:
  file.managed:
    - name: {{ L.sbd_modules_load | tojson }}
    - contents: {{ ("# Managed by Salt (opennebula-ha-formula, pacemaker.sbd): the SBD watchdog driver\n" ~ module) | tojson }}
    - user: root
    - group: root
    - mode: '0644'
    - makedirs: true

pacemaker-sbd-watchdog-module:
  kmod.present:
    - name: {{ module | tojson }}
    - persist: false
    - require:
      - file: pacemaker-sbd-watchdog-modules-load
{%-   endif %}

pacemaker-sbd-config:
  file.managed:
    - name: {{ L.sbd_config | tojson }}
    - source: {{ files_switch(["sbd.jinja"], lookup="sbd-config", tplroot="pacemaker") }}
    - template: jinja
    - defaults: {quote_macros: "salt://common/quote.jinja"}  # salt-ssh ships what states name
    - user: root
    - group: root
    - mode: '0644'
    - makedirs: true
    - context:
        devices: {{ devices | map(attribute="path") | list | tojson }}
        watchdog_dev: {{ S.watchdog.device | string | tojson }}
        watchdog_timeout: {{ S.watchdog_timeout | int }}
        startmode: {{ S.startmode | string | tojson }}
        delay_start: {{ S.delay_start | string | tojson }}
        options: {{ L.sbd_options | tojson }}
    - require:
      - pkg: pacemaker-sbd-package
{%-   set headers = [] %}
{%-   for dev in devices %}
{%-     set sid = "pacemaker-sbd-header-" ~ loop.index %}
{%-     do headers.append(sid) %}
{%-     if model.id == writer %}

{{ sid }}:
  sbd.device_present:
    - name: {{ dev.path | string | tojson }}
    - watchdog_timeout: {{ S.watchdog_timeout | int }}
    - msgwait_timeout: {{ S.msgwait_timeout | int }}
    - force_create: {{ dev.get("force_create", False) | to_bool | tojson }}
    - require:
      - pkg: pacemaker-sbd-package
{%-     else %}

{{ sid }}:
  loop.until_no_eval:
    - name: sbd.dump
    - expected: null
    - compare_operator: ne
    - args: [{{ dev.path | string | tojson }}]
    - kwargs: {refresh: true}
    - timeout: {{ L.sbd_header_wait | int }}
    - period: 5
    - require:
      - pkg: pacemaker-sbd-package
{%-     endif %}
{%-   endfor %}

pacemaker-sbd-service-enabled:
  service.enabled:
    - name: {{ L.sbd_service | tojson }}
    - require:
      - file: pacemaker-sbd-config
{%-   if module %}
      - kmod: pacemaker-sbd-watchdog-module
{%-   endif %}
{%-   for sid in headers %}
      - {{ sid }}
{%-   endfor %}
    - require_in:
      - argv: pacemaker-service-corosync-restart-foreign
      - service: pacemaker-service-corosync-running

pacemaker-sbd-restart-needed:
  test.show_notification:
    - text: >-
        SBD settings changed on a running member of cluster {{ model.settings.cluster.name }}:
        sbd (started by corosync) picks them up only when corosync restarts. Restart the
        cluster on the front-ends one at a time (crm cluster restart), the one running the
        resources last; Salt does not restart a member.
    - onchanges:
      - file: pacemaker-sbd-config
      - service: pacemaker-sbd-service-enabled
    - onlyif:
      - fun: corosync.is_member
        args: [{{ cluster_name }}]
{%- endif %}
