# -*- coding: utf-8 -*-
# vim: ft=sls
{#- /etc/hosts on every node: every node and VIP of cluster:* on every network it has an address
    on, as "<address> <label>.<network domain> [<label>]" (the Pacemaker/DRBD guide:
    cloud-cc01.san.local cloud-cc01, cloud-cc01.lan.local). The short name goes on the
    cluster:hosts:short_names network (default: the storage network) or, for a node without an
    address there, on its first network; the VIP short name (cluster:vip_name) likewise. A
    node's own names are removed from Debian's 127.0.1.1 line so that corosync, libvirt and oned
    never resolve the local node to loopback. host.only owns each address's line and nothing
    else in the file. The hosts file is Salt's `hosts.file` minion option (default
    /etc/hosts). #}
{%- from "opennebula/host/map.jinja" import model, host with context %}
{%- set C = model.settings.cluster %}
{%- set short_net = host.hosts.short_names or model.storage_network %}
{%- set own_names = [] %}
{%- for node, addrs in model.nodes | dictsort %}
{%-   set label = node.split(".")[0] %}
{%-   set nets = addrs.keys() | list | sort %}
{%-   set short_on = short_net if short_net in nets else nets | first %}
{%-   for net in nets %}
{%-     set dom = C.network_domains.get(net, C.domain) %}
{%-     set names = [label ~ "." ~ dom] %}
{%-     if net == short_on %}
{%-       do names.append(label) %}
{%-       if node != label and node not in names %}{%- do names.append(node) %}{%- endif %}
{%-     endif %}
{%-     if node == model.id %}{%- do own_names.extend(names) %}{%- endif %}
opennebula-host-hosts-{{ node }}-{{ net }}:
  host.only:
    - name: {{ addrs[net] }}
    - hostnames: {{ names | tojson }}
{%-   endfor %}
{%- endfor %}

{%- if C.vip_name and C.vips %}
{%-   set vip_nets = C.vips.keys() | list | sort %}
{%-   set vip_short_on = short_net if short_net in vip_nets else vip_nets | first %}
{%-   for net in vip_nets %}
{%-     set dom = C.network_domains.get(net, C.domain) %}
{%-     set names = [C.vip_name ~ "." ~ dom] %}
{%-     if net == vip_short_on %}{%- do names.append(C.vip_name) %}{%- endif %}
opennebula-host-hosts-vip-{{ net }}:
  host.only:
    - name: {{ C.vips[net] }}
    - hostnames: {{ names | tojson }}
{%-   endfor %}
{%- endif %}

{%- if host.lookup.hosts.loopback_ip %}
{%-   for name in own_names | unique %}
opennebula-host-hosts-loopback-{{ name }}:
  host.absent:
    - name: {{ name }}
    - ip: {{ host.lookup.hosts.loopback_ip }}
{%-   endfor %}
{%- endif %}
