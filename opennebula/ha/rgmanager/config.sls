# -*- coding: utf-8 -*-
# vim: ft=sls
{#- /etc/cluster/cluster.conf of the Red Hat cluster guide built from the pillar with the ccs
    states: the cluster (two_node/expected_votes for 2 nodes), one clusternode per front-end
    (nodeid by sorted minion id), an ordered failover domain (priority 1, 2, ... in the same
    order), the LAN VIP + the OpenNebula init scripts as resources, the service made of them
    and, with opennebula:ha:rgmanager:fence_xvm:enabled, the fence_xvm device with one method
    per node (port = the front-end's libvirt domain). Every node writes the same file
    (config_version is bumped once per change set); the first front-end pushes it with
    `ccs --sync --activate` when it changed. #}
{%- from "opennebula/map.jinja" import model, opennebula with context %}
{%- set rg = opennebula.lookup.rgmanager %}
{%- set path = rg.cluster_conf %}
{%- set fx = opennebula.ha.rgmanager.fence_xvm %}
{%- set vip = model.settings.cluster.vips.get("lan") or (model.settings.cluster.vips.values() | list | first) %}
{%- set two = model.frontends | length == 2 %}
opennebula-ha-rgmanager-cluster:
  ccs.cluster_present:
    - name: {{ model.settings.cluster.name }}
    - path: {{ path }}
    - cman: {{ ({"two_node": 1, "expected_votes": 1} if two else {}) | tojson }}

{%- for node in model.frontends %}
opennebula-ha-rgmanager-node-{{ node }}:
  ccs.node_present:
    - name: {{ node }}
    - nodeid: {{ loop.index }}
    - path: {{ path }}
    - require:
      - ccs: opennebula-ha-rgmanager-cluster
{%- endfor %}

opennebula-ha-rgmanager-failoverdomain:
  ccs.failoverdomain_present:
    - name: {{ rg.failover_domain }}
    - path: {{ path }}
    - ordered: true
    - restricted: false
    - nofailback: false
    - nodes:
{%- for node in model.frontends %}
        {{ node }}: {{ loop.index }}
{%- endfor %}
    - require:
{%- for node in model.frontends %}
      - ccs: opennebula-ha-rgmanager-node-{{ node }}
{%- endfor %}

opennebula-ha-rgmanager-resource-ip:
  ccs.resource_present:
    - name: {{ vip }}
    - type: ip
    - path: {{ path }}
    - attrs: {sleeptime: {{ rg.ip_sleeptime }}}
    - require:
      - ccs: opennebula-ha-rgmanager-cluster

{%- for script in rg.scripts %}
opennebula-ha-rgmanager-resource-script-{{ script.name }}:
  ccs.resource_present:
    - name: {{ script.name }}
    - type: script
    - path: {{ path }}
    - attrs: {file: {{ script.file }}}
    - require:
      - ccs: opennebula-ha-rgmanager-cluster
{%- endfor %}

opennebula-ha-rgmanager-service:
  ccs.service_present:
    - name: {{ rg.service }}
    - path: {{ path }}
    - domain: {{ rg.failover_domain }}
    - recovery: {{ rg.recovery }}
    - resources:
      - ip: {ref: {{ vip }}}
{%- for script in rg.scripts %}
      - script: {ref: {{ script.name }}}
{%- endfor %}
    - require:
      - ccs: opennebula-ha-rgmanager-failoverdomain
      - ccs: opennebula-ha-rgmanager-resource-ip
{%- for script in rg.scripts %}
      - ccs: opennebula-ha-rgmanager-resource-script-{{ script.name }}
{%- endfor %}

{%- if fx.enabled %}
opennebula-ha-rgmanager-fence-key:
  file.managed:
    - name: {{ opennebula.lookup.fence_virtd.key_file }}
    - contents_pillar: {{ model.secret_refs.fence_xvm_key }}
    - show_changes: false
    - makedirs: true
    - user: root
    - group: root
    - mode: '0400'

opennebula-ha-rgmanager-fencedev:
  ccs.fencedev_present:
    - name: libvirt-kvm
    - path: {{ path }}
    - agent: fence_xvm
    - key_file: {{ opennebula.lookup.fence_virtd.key_file }}
    - multicast_address: {{ fx.multicast_address }}
    - ipport: {{ fx.port }}
    - require:
      - ccs: opennebula-ha-rgmanager-cluster

{%-   for node in model.frontends %}
opennebula-ha-rgmanager-fence-{{ node }}:
  ccs.fence_method_present:
    - node: {{ node }}
    - method: libvirt-kvm
    - device: libvirt-kvm
    - port: {{ fx.domains.get(node, node) }}
    - path: {{ path }}
    - require:
      - ccs: opennebula-ha-rgmanager-fencedev
      - ccs: opennebula-ha-rgmanager-node-{{ node }}
{%-   endfor %}
{%- endif %}

{%- if model.id == model.first_frontend %}
opennebula-ha-rgmanager-activate:
  ccs.synced:
    - host: {{ model.id }}
    - password: {{ salt["pillar.get"](model.secret_refs.ricci_password) | tojson }}
    - path: {{ path }}
    - onchanges:
      - ccs: opennebula-ha-rgmanager-cluster
      - ccs: opennebula-ha-rgmanager-failoverdomain
      - ccs: opennebula-ha-rgmanager-service
{%- endif %}
