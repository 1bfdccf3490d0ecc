# The raft variant of the container lab (`make lab VARIANT=raft`, `make lab-test VARIANT=raft`):
# OpenNebula's own HA (the "Front-end HA" guide: Raft between the oned of 3 front-ends, the
# leader's RAFT_LEADER_HOOK takes the VIPs), no cluster manager. pillar.example's contract
# with lab values, plain YAML (labkit.containers reads the topology from here). The
# bridge and the address ranges are the lab's own (lab/pillar/lab.sls).
---
cluster:
  name: one-lab
  domain: lab.local
  networks:
    san: 10.236.11.0/24
    lan: 10.236.10.0/24
  network_domains:
    san: san.lab.local
    lan: lan.lab.local
  # raft needs a majority: 3 front-ends (SERVER_ID 0, 1, 2 in this order), any one may fail
  frontends:
    one-fe1: {san: 10.236.11.11, lan: 10.236.10.11}
    one-fe2: {san: 10.236.11.12, lan: 10.236.10.12}
    one-fe3: {san: 10.236.11.13, lan: 10.236.10.13}
  hypervisors:
    one-hv1: {san: 10.236.11.31, lan: 10.236.10.31}
  vips:
    lan: 10.236.10.10
    san: 10.236.11.10
  vip_name: one-cc

opennebula:
  # the base image has OpenNebula 7.4.0 built from source (lab/oned/build.sh): no package step
  install_packages: false
  version: '7.4'
  lookup:
    services:
      # the lab's package is oned, its drivers and CLI: no FireEdge server to run (its key,
      # ~oneadmin/.one/fireedge_key, is written all the same)
      fireedge: ''
  ha:
    stack: raft
    raft:
      # every lab host has one NIC, host0 (systemd-nspawn's veth), carrying both networks
      vip_interfaces: {lan: host0, san: host0}
  register:
    # TCG only in the containers: OpenNebula's qemu drivers
    im_mad: qemu
    vm_mad: qemu
    marketplaces:
      OpenNebula Public: {enabled: false}
  # each front-end its own local MariaDB (replication none: Raft replicates oned's log; the
  # model refuses sqlite for more than one front-end)
  db:
    backend: mariadb
    replication: none
  proxy:
    server: lighttpd
    self_signed: true

storage:
  # the storage-architectures guide's "remote copy": images copied over ssh to the node
  variant: ssh
