# The lab's pillar: pillar.example (the contract) with lab hosts, lab addresses and the
# choices the container tier can run. Plain YAML, no Jinja: labkit.containers reads
# cluster:networks/frontends/hypervisors from here to build the bridge and boot the hosts,
# so adding a host here is all `make lab` needs to boot one more.
# Secrets come from .lab/gen/pillar/lab_secrets.sls (generated, random, git-ignored).
---
cluster:
  name: one-lab
  domain: lab.local
  # Private ranges used only on the lab bridge (onelab0): the bridge carries .1 of each.
  networks:
    san: 10.236.11.0/24
    lan: 10.236.10.0/24
  network_domains:
    san: san.lab.local
    lan: lan.lab.local
  frontends:
    one-fe1: {san: 10.236.11.11, lan: 10.236.10.11}
    one-fe2: {san: 10.236.11.12, lan: 10.236.10.12}
  hypervisors:
    one-hv1: {san: 10.236.11.31, lan: 10.236.10.31}
    one-hv2: {san: 10.236.11.32, lan: 10.236.10.32}
  vips:
    lan: 10.236.10.10
    san: 10.236.11.10
  vip_name: one-cc

opennebula:
  # OpenNebula's package repository cannot be reached from the lab: the base image has
  # OpenNebula built from its source archive and installed as a .deb (lab/oned/build.sh).
  # The formula's package step is skipped; everything else is the formula's.
  install_packages: false
  # the base image installs 7.4.0 (lab/image/container.sh's default ONED_VERSION): oned.conf,
  # drivers and services for that line (the VM tier, lab/vm/pillar, keeps 6.10)
  version: '7.4'
  ha:
    stack: pacemaker
  # oneadmin: the package's account (uid/gid 9869, group oneadmin), the formula's default
  node:
    # MooseFS is a FUSE filesystem: libvirt cannot tell it is shared and refuses a live
    # migration without --unsafe
    migrate_options: --unsafe
  register:
    # no /dev/kvm for normal guests here: qemu's TCG (<domain type='qemu'>), OpenNebula's
    # qemu drivers (oned.conf VM_MAD/IM_MAD "qemu")
    im_mad: qemu
    vm_mad: qemu
    # the lab reaches no internet: oned's default marketplace could only fail to monitor
    marketplaces:
      OpenNebula Public: {enabled: false}
  db:
    backend: mariadb
    replication: master-master
  proxy:
    server: lighttpd
    self_signed: true

storage:
  variant: moosefs
  moosefs:
    # not the first front-end, where Pacemaker first starts ha_group: the fault drill crashes
    # the group's node, and mfsmaster is no cluster resource (the storage-architectures
    # guide). With the master on the crashed node every MooseFS client's systemd daemon-reload
    # hangs (fstab generator inside the stalled FUSE mount) until it is back, stalling
    # Pacemaker's systemd resources.
    master: one-fe2
    # a chunkserver on each hypervisor: every chunk on both (a VM's disk survives either)
    goal: 2

pacemaker:
  corosync:
    transport: knet
    rings: [san, lan]
    # measured: token 1000 -> ~2.4 s crash failover (3000 -> ~7 s)
    token: 1000
  stonith:
    # containers cannot be fenced: no fence device exists in the container tier
    enabled: false
    i_understand_no_fencing: true
