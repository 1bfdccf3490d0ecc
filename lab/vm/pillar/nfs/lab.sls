# VM lab, VARIANT=nfs: the NFSv4 guide (a dedicated NFSv4 server, every front-end and hypervisor
# mounts the datastores; oneadmin with fixed uid/gid and one idmapd Domain everywhere;
# libvirt for qemu+ssh live migration). QEMU TCG guests (labkit.vms), plain YAML:
# labkit.vms reads cluster:networks/frontends/hypervisors/storage_servers from here.
# Guest NICs: eth0 = san, eth1 = lan.
---
cluster:
  name: one-vmlab-nfs
  domain: lab.local
  networks:
    san: 10.237.21.0/24
    lan: 10.237.20.0/24
  network_domains:
    san: san.lab.local
    lan: lan.lab.local
  frontends:
    one-fe1: {san: 10.237.21.11, lan: 10.237.20.11}
  storage_servers:
    one-nfs1: {san: 10.237.21.21, lan: 10.237.20.21}
  hypervisors:
    one-hv1: {san: 10.237.21.31, lan: 10.237.20.31}

lab:
  # the VM tier runs the oned test double (lab/salt/lab/oned_double.sls), not OpenNebula:
  # lab/vm/README.md says why
  oned_double: true

opennebula:
  install_packages: false
  # the oned double answers as 6.10.5 (test/fixtures/one/oned-6.10.5_responses.json)
  version: '6.10'
  # LAB ONLY: the oned test double is the only OpenNebula service here (no packages): the
  # scheduler, Sunstone and FireEdge units do not exist, so they are not managed.
  lookup:
    services: {scheduler: '', sunstone: '', fireedge: ''}
  ha:
    # one front-end: no cluster stack (the NFS server is a dedicated storage server)
    stack: none
  oneadmin:
    uid: 1001
    gid: 1001
    group: cloud
  db:
    backend: mariadb
    replication: none
  proxy:
    server: lighttpd
    self_signed: true

storage:
  variant: nfs
  datastores_path: /var/lib/one/datastores
  nfs:
    server: one-nfs1
    export_path: /storage
    export_options: rw,async,no_root_squash,insecure,no_subtree_check
    network: san
    mount_options: rw,_netdev,rsize=1048576,wsize=1048576,auto
    idmapd_domain: lab.local
