# Lab top file (file_roots: the formula from the working tree + lab/salt + .lab/gen/salt).
# opennebula/init.sls selects every component by the minion's roles; lab.oned_double (LAB
# ONLY, the VM tier: pillar lab:oned_double) first installs the oned test double as the
# `opennebula` unit on the front-ends. The container lab runs real OpenNebula;
# lab.container_hypervisor adds what libvirt/qemu need inside a systemd-nspawn container.
base:
  '*':
    - lab.oned_double
    - lab.container_hypervisor
    - opennebula
