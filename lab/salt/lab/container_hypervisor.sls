# -*- coding: utf-8 -*-
# vim: ft=sls
{#- LAB ONLY. What a KVM hypervisor needs to run qemu (TCG) under libvirt inside a
    systemd-nspawn container, which a real host does not (measured with OpenNebula 6.10.5's
    kvm deploy/migrate scripts in two nspawn hypervisors):
    * libvirtd.conf host_uuid_source = "machine-id": every container reports the physical
      host's SMBIOS UUID, and libvirt refuses to migrate to a host with its own UUID;
    * qemu.conf security_driver = "none" (no AppArmor profile can be loaded from inside a
      container) and cgroup_controllers = ["cpu", "cpuacct"]: OpenNebula always writes
      <cputune><shares>, which libvirt refuses without the cpu controller;
    * nspawn mounts the cgroup v1 controllers read-only: onelab-cgroup-rw.service remounts the
      container's own cpu/cpuacct subtree read-write before libvirtd starts;
    * /usr/bin/qemu-kvm-one (the emulator OpenNebula's kvm driver names; opennebula-node-kvm
      creates it) -> qemu-system-x86_64; pciutils for the monitoring probes (lspci).
    Only on hypervisors that run in a systemd-nspawn container. #}
{%- set hypervisors = salt["pillar.get"]("cluster:hypervisors", {}) %}
{%- if grains["id"] in hypervisors and "systemd-nspawn" in [grains.get("virtual"), grains.get("virtual_subtype")] %}
lab-hv-pciutils:
  pkg.installed:
    - name: pciutils

lab-hv-qemu-kvm-one:
  file.symlink:
    - name: /usr/bin/qemu-kvm-one
    - target: /usr/bin/qemu-system-x86_64

lab-hv-cgroup-rw-unit:
  file.managed:
    - name: /etc/systemd/system/onelab-cgroup-rw.service
    - contents: |
        # LAB ONLY (opennebula-ha-formula lab/salt/lab/container_hypervisor.sls)
        [Unit]
        Description=lab: this container's cgroup v1 cpu/cpuacct subtree writable for libvirt
        DefaultDependencies=no
        Before=libvirtd.service libvirtd.socket
        ConditionPathIsReadWrite=!/sys/fs/cgroup/cpu

        [Service]
        Type=oneshot
        RemainAfterExit=yes
        ExecStart=-/bin/mount -o remount,bind,rw /sys/fs/cgroup/cpu
        ExecStart=-/bin/mount -o remount,bind,rw /sys/fs/cgroup/cpuacct

        [Install]
        WantedBy=sysinit.target

lab-hv-cgroup-rw:
  service.running:
    - name: onelab-cgroup-rw
    - enable: true
    - require:
      - module: lab-hv-daemon-reload

lab-hv-daemon-reload:
  module.run:
    - service.systemctl_reload: []
    - onchanges:
      - file: lab-hv-cgroup-rw-unit

lab-hv-libvirtd-conf:
  file.keyvalue:
    - name: /etc/libvirt/libvirtd.conf
    - key_values:
        host_uuid_source: '"machine-id"'
    - separator: ' = '
    - uncomment: '#'
    - append_if_not_found: true
    - require_in:
      - file: opennebula-node-qemu-conf

lab-hv-qemu-conf:
  file.keyvalue:
    - name: /etc/libvirt/qemu.conf
    - key_values:
        security_driver: '"none"'
        cgroup_controllers: '[ "cpu", "cpuacct" ]'
    - separator: ' = '
    - uncomment: '#'
    - append_if_not_found: true
    - require:
      - service: lab-hv-cgroup-rw
    - require_in:
      - file: opennebula-node-qemu-conf
{%- endif %}
