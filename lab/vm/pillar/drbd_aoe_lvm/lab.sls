# VM lab, VARIANT=drbd_aoe_lvm: the Pacemaker/DRBD guide (two front-ends on DRBD 8.4 under
# Pacemaker, the VM volume group on DRBD exported over AoE to the hypervisor, /srv/cloud/one
# on DRBD exported over NFS). QEMU TCG guests (labkit.vms), plain YAML, no Jinja:
# labkit.vms reads cluster:networks/frontends/hypervisors and drbd:resources from here.
# Guest NICs: eth0 = san, eth1 = lan (net.ifnames=0, one bridge per network in the lab's
# netns). Front-end disks: vda root, vdb/vdc the DRBD backing disks in drbd:resources minor
# order, then the seed disk.
---
cluster:
  name: one-vmlab
  domain: lab.local
  # Private ranges used only inside the lab's network namespace (onelabvm).
  networks:
    san: 10.237.11.0/24
    lan: 10.237.10.0/24
  network_domains:
    san: san.lab.local
    lan: lan.lab.local
  frontends:
    one-fe1: {san: 10.237.11.11, lan: 10.237.10.11}
    one-fe2: {san: 10.237.11.12, lan: 10.237.10.12}
  hypervisors:
    one-hv1: {san: 10.237.11.31, lan: 10.237.10.31}
  vips:
    lan: 10.237.10.10
    san: 10.237.11.10
  vip_name: one-cc

lab:
  # the VM tier runs the oned test double (lab/salt/lab/oned_double.sls), not OpenNebula:
  # lab/vm/README.md says why
  oned_double: true

opennebula:
  # No OpenNebula packages reach the lab: the oned XML-RPC test double
  # (test/doubles/oned_double.py) is the `opennebula` systemd unit, installed by
  # lab/salt/lab/oned_double.sls (lab:oned_double above).
  install_packages: false
  # the oned double answers as 6.10.5 (test/fixtures/one/oned-6.10.5_responses.json)
  version: '6.10'
  ha:
    stack: pacemaker
  oneadmin:
    uid: 1001
    gid: 1001
    group: cloud
  db:
    backend: mariadb
    replication: master-master
  proxy:
    server: lighttpd
    self_signed: true
  lookup:
    # TCG guests: the first group start after the graph is pushed (DRBD start + notify +
    # promote on both front-ends, then each member) took 283 s in one measured run (push
    # 14:13:56, oned started 14:18:36), past the default 180 s opennebula.register waits.
    oned:
      active_wait: 480

storage:
  variant: drbd_aoe_lvm
  drbd_aoe_lvm:
    one_disk: one-disk
    data_disk: data-disk
    one_mount: /srv/cloud/one
    one_fstype: ext4
    mkfs_one_disk: true
    vg: one-data
    aoe:
      shelf: 0
      slot: 0
      # the SAN NIC of the front-ends (eth0 = san in the VM lab)
      nic: eth0
    nfs_export_options: rw,sync,no_root_squash,no_subtree_check

drbd:
  syntax: '8.4'
  initial_primary: one-fe1
  network: san
  common:
    protocol: C
    resync_rate: 100M
    # lab: fast peer-loss detection (ping-int 2 + ping-timeout 2 s: ~4 s, measured in the
    # qemu-drbd recipe; the default 10 s ping-int takes ~20 s)
    net: {ping-int: 2, ping-timeout: 20, connect-int: 2}
    disk: {on-io-error: detach}
    startup: {wfc-timeout: 120, degr-wfc-timeout: 120}
  resources:
    # Internal meta-data on dedicated virtio disks (labkit.vms: 256 MiB raw files):
    # simpler than the Pacemaker/DRBD guide's indexed /dev/sda3[N], same DRBD semantics.
    one-disk:
      minor: 1
      port: 7788
      disk: /dev/vdb
      meta_disk: internal
      wipe_backing_device: false
    data-disk:
      minor: 2
      port: 7789
      disk: /dev/vdc
      meta_disk: internal
      wipe_backing_device: false

pacemaker:
  corosync:
    transport: knet
    rings: [san, lan]
    # TCG guests on a loaded host: a short token would fail over on scheduling stalls
    token: 3000
  stonith:
    # SBD fencing on a shared disk: labkit.vms attaches one 8 MiB raw file to both front-ends
    # (guest /dev/disk/by-id/virtio-sbd0, zeroed: the formula writes the header) and QEMU's
    # i6300esb watchdog. Debian's cloud kernel in the image has no i6300esb driver
    # (CONFIG_I6300ESB_WDT unset): the guests load softdog. drbd:common:fencing then defaults
    # to resource-and-stonith with the crm-fence-peer handlers. (The container tier keeps
    # stonith off with the acknowledgement: a container cannot be fenced.)
    enabled: true
    i_understand_no_fencing: false
    devices: {}
    # Fencing the node with the group waits 90 s longer (the formula's default: twice
    # pcmk_delay_max, 30 s). Measured in the split-brain drill with 30 s: the primary (writer
    # running, DRBD I/O frozen, crm-fence-peer polling on one TCG vCPU) took 41 s from
    # "requesting peer fencing" to running fence_sbd; the secondary's delayed fence hit at
    # the same moment and won.
    priority_fencing_delay: 90s
    sbd:
      enabled: true
      devices:
        - path: /dev/disk/by-id/virtio-sbd0
      watchdog: {device: /dev/watchdog, module: softdog}
      # TCG guests on a loaded host stall for seconds: generous timeouts
      watchdog_timeout: 15
      msgwait_timeout: 30
  # no pacemaker:properties here: the formula's no-quorum-policy stop. Measured with
  # `ignore` in the split-brain drill: the fenced node rebooted still cut off, had no quorum
  # (corosync two_node's wait_for_all) but ignored that, saw its peer UNCLEAN and fenced it:
  # both front-ends fenced each other in turn until the links came back.
  lookup:
    # TCG guests with one vCPU on a loaded host: a highstate in the VM starves the resource
    # agents; with the defaults' 20 s timeouts monitors timed out during a highstate and
    # nfs_server's stop timed out -> blocked (measured). Operation timeouts x6 in the lab.
    ops:
      vip:
        - {name: monitor, interval: 40s, timeout: 120s}
      drbd:
        - {name: monitor, interval: 29s, role: Promoted, timeout: 120s}
        - {name: monitor, interval: 31s, role: Unpromoted, timeout: 120s}
        - {name: start, interval: 0s, timeout: 240s}
        - {name: promote, interval: 0s, timeout: 180s}
        - {name: demote, interval: 0s, timeout: 180s}
        - {name: stop, interval: 0s, timeout: 240s}
      filesystem:
        - {name: monitor, interval: 20s, timeout: 120s}
        - {name: start, interval: 0s, timeout: 180s}
        - {name: stop, interval: 0s, timeout: 180s}
      nfsserver:
        - {name: monitor, interval: 10s, timeout: 120s}
        - {name: start, interval: 0s, timeout: 180s}
        - {name: stop, interval: 0s, timeout: 180s}
      exportfs:
        - {name: monitor, interval: 10s, timeout: 120s}
        - {name: start, interval: 0s, timeout: 120s}
        - {name: stop, interval: 0s, timeout: 180s}
      aoe:
        - {name: monitor, interval: 40s, timeout: 120s}
      service:
        - {name: monitor, interval: 30s, timeout: 120s}
        - {name: start, interval: 0s, timeout: 180s}
        - {name: stop, interval: 0s, timeout: 180s}
      # fence_sbd's start took 21-23 s here (measured: the default 20 s failed it on both
      # front-ends, fail-count INFINITY, no fence device left)
      stonith:
        - {name: monitor, interval: 60s, timeout: 120s}
        - {name: start, interval: 0s, timeout: 120s}
  rsc_defaults:
    resource-stickiness: 1000
