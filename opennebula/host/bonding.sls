# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Bonds of this minion from cluster:bonds:<minion id>:<bond>: {mode, miimon, downdelay, updelay,
    slaves, network, mtu} (the Pacemaker/DRBD guide: bond0 balance-rr miimon 100
    downdelay/updelay 200 over eth0+eth1 on the SAN). The bond carries this node's address on
    `network` (cluster:*).

    Debian ifupdown only (lookup bonding:backend ifupdown): one stanza per bond in
    /etc/network/interfaces.d/<bond> (TOFS host-bond.jinja), ifenslave's bond-* options.
    Salt's network.managed type bond is NOT used: its Debian backend (debian_ip) drops
    miimon/downdelay/updelay for balance-rr and balance-xor and insists on ARP monitoring
    (arp_ip_target) instead, so the Pacemaker/DRBD guide's bond cannot be expressed; it also
    rewrites the whole /etc/network/interfaces and restarts the interface on every change.
    Safety: a bond that does not exist yet is brought up once (`ifup`); an existing bond is
    never restarted by a highstate (it carries DRBD, corosync and NFS): a changed stanza is
    applied at the next `ifdown <bond>; ifup <bond>` or reboot, in a maintenance window. A slave
    that still has its own `iface` stanza in /etc/network/interfaces fails the run instead.
    Sites on systemd-networkd or NetworkManager: leave cluster:bonds empty and use their own
    states (e.g. a networkd .netdev/.network pair, or nmcli), with the same SAN addresses. #}
{%- from "opennebula/host/map.jinja" import model, host with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set B = host.lookup.bonding %}
{%- if host.bonds %}
{%-   if B.backend != "ifupdown" %}
opennebula-host-bond-unsupported:
  test.fail_without_changes:
    - name: >-
        cluster:bonds:{{ model.id }}: bonds are managed with Debian ifupdown only, this minion
        is {{ model.os_family }}; configure them with this site's own network states and
        remove cluster:bonds:{{ model.id }}
{%-   else %}
{%-     if B.pkgs %}
opennebula-host-bond-pkgs:
  pkg.installed:
    - pkgs: {{ B.pkgs | tojson }}
{%-     endif %}

opennebula-host-bond-interfaces-dir:
  file.directory:
    - name: {{ B.interfaces_dir }}
    - makedirs: true

{#- interfaces sources interfaces.d: a `source DIR/*` or `source-directory DIR` line is kept as
    it is (replaced by itself), else `source DIR/*` is appended. #}
opennebula-host-bond-source-dir:
  file.replace:
    - name: {{ B.interfaces_file }}
    - pattern: {{ ("^[ \\t]*(source[ \\t]+" ~ (B.interfaces_dir | regex_escape) ~ "/\\*|source-directory[ \\t]+" ~ (B.interfaces_dir | regex_escape) ~ "/?)[ \\t]*$") | tojson }}
    - repl: '\g<0>'
    - count: 1
    - append_if_not_found: true
    - not_found_content: source {{ B.interfaces_dir }}/*
    - backup: false
{%-     if B.pkgs %}
    - require:
      - pkg: opennebula-host-bond-pkgs
{%-     endif %}

{%-     for bname, bond in host.bonds | dictsort %}
{%-       set net = model.networks[bond.network] %}
{%-       set slaves = bond.slaves | map("string") | list %}
{%-       set configured = [] %}
{%-       for s in slaves %}
{%-         if salt["file.search"](B.interfaces_file, "^[ \t]*iface[ \t]+" ~ s ~ "[ \t]", ignore_if_missing=True) %}
{%-           do configured.append(s) %}
{%-         endif %}
{%-       endfor %}
{%-       if configured %}

opennebula-host-bond-{{ bname }}-slaves-free:
  test.fail_without_changes:
    - name: >-
        {{ configured | join(", ") }} still configured in {{ B.interfaces_file }}: remove the
        iface stanza(s) (the bond {{ bname }} takes over {{ model.nodes[model.id][bond.network] }})
        and apply again
{%-       endif %}

opennebula-host-bond-{{ bname }}-config:
  file.managed:
    - name: {{ B.interfaces_dir }}/{{ bname }}
    - source: {{ files_switch(["host-bond.jinja"], lookup="host-bond") }}
    - template: jinja
    - mode: '0644'
    - context:
        minion: {{ model.id | tojson }}
        name: {{ bname | tojson }}
        network: {{ bond.network | tojson }}
        cidr: {{ net.cidr | tojson }}
        address: {{ (model.nodes[model.id][bond.network] ~ "/" ~ net.prefix) | tojson }}
        slaves: {{ slaves | tojson }}
        mode: {{ bond.get("mode", "balance-rr") | tojson }}
        miimon: {{ bond.get("miimon", 100) | int }}
        downdelay: {{ bond.get("downdelay", 200) | int }}
        updelay: {{ bond.get("updelay", 200) | int }}
        mtu: {{ (bond.mtu | int) if bond.get("mtu") else none | tojson }}
    - require:
      - file: opennebula-host-bond-interfaces-dir
{%-       if configured %}
      - test: opennebula-host-bond-{{ bname }}-slaves-free
{%-       endif %}
{%-       if B.ifup %}

opennebula-host-bond-{{ bname }}-up:
  argv.run:
    - argv: [ifup, {{ bname | string | tojson }}]
    - unless:
      - fun: file.directory_exists
        args: [{{ ("/sys/class/net/" ~ bname ~ "/bonding") | tojson }}]
    - require:
      - file: opennebula-host-bond-{{ bname }}-config
      - file: opennebula-host-bond-source-dir
{%-         if B.pkgs %}
      - pkg: opennebula-host-bond-pkgs
{%-         endif %}
{%-       endif %}
{%-     endfor %}
{%-   endif %}
{%- endif %}
