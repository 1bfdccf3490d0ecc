# -*- coding: utf-8 -*-
# vim: ft=sls
{#- kvmrc on the FRONT-ENDS (include from the front-end part, e.g. opennebula.config): the
    master copy of the KVM driver settings (lookup kvmrc:path, OpenNebula >= 5.6
    /var/lib/one/remotes/etc/vmm/kvm/kvmrc) that `onehost sync` pushes to every node.
    opennebula:node:migrate_over_ssh true: LIBVIRT_URI/QEMU_PROTOCOL over ssh (the NFSv4 guide:
    live migration over oneadmin's ssh keys instead of libvirt TLS). Only these two keys are
    edited; a missing file (OpenNebula not installed yet) is left alone. Ids opennebula-kvmrc-*
    (not opennebula-node-*: front-ends are not nodes). #}
{%- from "opennebula/node/map.jinja" import model, node with context %}
{%- if model.is_frontend %}
opennebula-kvmrc-frontend:
  file.keyvalue:
    - name: {{ node.lookup.kvmrc.path }}
    - key_values: {{ node.kvmrc | tojson }}
    - separator: '='
    - uncomment: '#'
    - append_if_not_found: true
    - ignore_if_missing: true
{%- endif %}
