# -*- coding: utf-8 -*-
# vim: ft=sls
{#- KVM hypervisor node (the NFSv4 guide), on cluster:hypervisors only:
    * packages: opennebula-node-kvm (lookup pkgs_node, from the OpenNebula repository) when
      opennebula:install_packages, else plain libvirt + KVM (lookup libvirt:pkgs);
    * libvirt qemu.conf: only the keys user/group/dynamic_ownership (opennebula:node), edited in
      place (file.keyvalue), the rest of the distribution file untouched;
    * AppArmor: instead of disabling it (as the NFSv4 guide does), the libvirt-qemu local
      abstraction (lookup libvirt:apparmor_local, TOFS node-apparmor-libvirt-qemu.jinja) allows
      storage:datastores_path; per-VM profiles include it from the next VM start;
    * kvmrc: the node's copy under /var/tmp/one (when present) gets LIBVIRT_URI/QEMU_PROTOCOL;
      the master copy lives on the front-ends (opennebula.node.kvmrc, pushed by onehost sync);
    * oneadmin joins lookup libvirt:groups (libvirt: polkit lets the group manage the system
      libvirtd, needed by the front-end's qemu+ssh; kvm: /dev/kvm), other groups untouched;
    * libvirtd restarted when qemu.conf or the AppArmor rule changes (running VMs keep running);
      socket-activated libvirtd (lookup libvirt:socket): socket running, service enabled,
      try-restart on those changes. #}
{%- from "opennebula/node/map.jinja" import model, opennebula, node with context %}
{%- from "storage/map.jinja" import storage with context %}
{%- from "common/libtofs.jinja" import files_switch with context %}
{%- set L = node.lookup %}
{%- if model.is_hypervisor %}
{%-   if opennebula.install_packages and not model.is_frontend %}
opennebula-node-repo:
  pkgrepo.managed:
    - name: deb {{ opennebula.repo.url | replace("{version}", opennebula.version) }} stable opennebula
    - file: /etc/apt/sources.list.d/opennebula.list
    - key_url: {{ opennebula.repo.key_url }}
    - aptkey: false
    - require_in:
      - pkg: opennebula-node-pkgs
{%-   endif %}
{%-   if node.pkgs %}

opennebula-node-pkgs:
  pkg.installed:
    - pkgs: {{ node.pkgs | tojson }}
{%-   endif %}

opennebula-node-qemu-conf:
  file.keyvalue:
    - name: {{ L.libvirt.qemu_conf }}
    - key_values: {{ node.qemu_conf | tojson }}
    - separator: ' = '
    - uncomment: '#'
    - append_if_not_found: true
{%-   if node.pkgs %}
    - require:
      - pkg: opennebula-node-pkgs
{%-   endif %}
{%-   for g in L.libvirt.get("groups", []) %}

{#- `gpasswd -a oneadmin GROUP` (other members stay) unless /etc/group, the file gpasswd
    edits, lists oneadmin in GROUP; onlyif: a group the installed packages did not create is
    not invented here. #}
opennebula-node-oneadmin-group-{{ g }}:
  argv.run:
    - argv: [gpasswd, -a, oneadmin, {{ g | string | tojson }}]
    - onlyif:
      - fun: group.info
        name: {{ g | string | tojson }}
    - unless:
      - fun: file.search
        path: /etc/group
        pattern: {{ ("^" ~ (g | string | regex_escape) ~ ":[^:\n]*:[^:\n]*:([^\n]*,)?oneadmin(,|$)") | tojson }}
{%-     if node.pkgs %}
    - require:
      - pkg: opennebula-node-pkgs
{%-     endif %}
{%-   endfor %}
{%-   if node.apparmor_allow and L.libvirt.apparmor_local %}

opennebula-node-apparmor-datastores:
  file.managed:
    - name: {{ L.libvirt.apparmor_local }}
    - source: {{ files_switch(["node-apparmor-libvirt-qemu.jinja"], lookup="node-apparmor") }}
    - template: jinja
    - mode: '0644'
    - makedirs: true
    - context:
        datastores_path: {{ storage.datastores_path | tojson }}
{%-     if node.pkgs %}
    - require:
      - pkg: opennebula-node-pkgs
{%-     endif %}
{%-   endif %}
{%-   if L.kvmrc.node_path %}

opennebula-node-kvmrc:
  file.keyvalue:
    - name: {{ L.kvmrc.node_path }}
    - key_values: {{ node.kvmrc | tojson }}
    - separator: '='
    - uncomment: '#'
    - append_if_not_found: true
    - ignore_if_missing: true
{%-   endif %}
{%-   if L.libvirt.service and L.libvirt.get("socket") %}

{#- Socket activation (Debian: libvirtd.socket, LIBVIRTD_ARGS="--timeout 120"): libvirtd
    exits after 120 s without VMs or clients, so `running` is no stable state of the service
    (every highstate would start it again). The socket is kept running, the service enabled
    (VM autostart at boot), and a changed qemu.conf/AppArmor rule restarts libvirtd only
    where it runs (`try-restart`; otherwise its next activation reads the new config). #}
opennebula-node-libvirtd-socket:
  service.running:
    - name: {{ L.libvirt.socket }}
    - enable: true
    - require:
      - file: opennebula-node-qemu-conf

opennebula-node-libvirtd:
  service.enabled:
    - name: {{ L.libvirt.service }}
    - require:
      - file: opennebula-node-qemu-conf

opennebula-node-libvirtd-restart:
  argv.run:
    - argv: [systemctl, try-restart, {{ L.libvirt.service | string | tojson }}]
    - onchanges:
      - file: opennebula-node-qemu-conf
{%-     if node.apparmor_allow and L.libvirt.apparmor_local %}
      - file: opennebula-node-apparmor-datastores
{%-     endif %}
    - require:
      - service: opennebula-node-libvirtd
{%-   elif L.libvirt.service %}

opennebula-node-libvirtd:
  service.running:
    - name: {{ L.libvirt.service }}
    - enable: true
    - watch:
      - file: opennebula-node-qemu-conf
{%-     if node.apparmor_allow and L.libvirt.apparmor_local %}
      - file: opennebula-node-apparmor-datastores
{%-     endif %}
{%-   endif %}
{%- endif %}
