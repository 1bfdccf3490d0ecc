# The lab's pillar: pillar.example (the contract) with lab hosts, lab addresses and the
# choices the container tier can run. Plain YAML, no Jinja: lab/labctl.py reads
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
  vips:
    lan: 10.236.10.10
    san: 10.236.11.10
  vip_name: one-cc

opennebula:
  # OpenNebula packages cannot be fetched in the lab (only the Debian mirror is reachable):
  # the loopback oned test double (test/doubles/oned_double.py) runs as the `opennebula`
  # service instead.
  install_packages: false
  ha:
    stack: pacemaker
  oneadmin:
    uid: 1001
    gid: 1001
    group: cloud
  node:
    # qemu.conf's group must exist: the formula creates only oneadmin:group (no OpenNebula
    # packages here to create a group `oneadmin`); libvirtd refuses to start otherwise
    qemu_group: cloud
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
    # the group's node, and mfsmaster is no cluster resource (seed 001). With the master on
    # the crashed node every MooseFS client's systemd daemon-reload hangs (fstab generator
    # inside the stalled FUSE mount) until it is back, stalling Pacemaker's systemd resources.
    master: one-fe2
    # one chunkserver (the hypervisor) in the default topology: one copy
    goal: 1

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
