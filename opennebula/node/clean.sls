# -*- coding: utf-8 -*-
# vim: ft=sls
{#- Removes only the formula's own AppArmor datastores rules (the local abstraction file stays:
    abstractions/libvirt-qemu includes it unconditionally). qemu.conf keys, kvmrc and the
    packages stay (VMs and images depend on them). #}
{%- from "opennebula/node/map.jinja" import model, node with context %}
{%- from "storage/map.jinja" import storage with context %}
{%- if node.lookup.libvirt.apparmor_local %}
{%-   for rule in [storage.datastores_path ~ "/ r,", storage.datastores_path ~ "/** rwk,"] %}
opennebula-node-clean-apparmor-{{ loop.index }}:
  file.line:
    - name: {{ node.lookup.libvirt.apparmor_local }}
    - match: {{ ("^\s*" ~ (rule | regex_escape) ~ "\s*$") | tojson }}
    - mode: delete
    - ignore_if_missing: true
{%-   endfor %}
{%- else %}
opennebula-node-clean-nothing:
  test.nop: []
{%- endif %}
