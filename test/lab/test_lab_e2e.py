"""End-to-end checks of the formula on the container lab (`make lab-test`, LAB=1, root).

Order matters (one lab, tests run top to bottom):
  1. salt-ssh: fresh hosts, first highstate succeeds everywhere, second has zero changes
  2. salt-master: fresh hosts again, the same two checks through salt-master/minions
  3. names: every host resolves every other host's SAN and LAN names (getent hosts)
  3b. cluster: crm_mon -1 -X both front-ends online with a DC and quorum, the VIP group
     Started on one node,
     VIP answering (ping + arping MAC of the active node from the hypervisor, curl the proxy)
  4. MariaDB master-master replication caught up (both directions, marker rows)
  5. MooseFS: files written from the hypervisor before the drill
  6. fault drill: SIGKILL the active front-end's systemd (power cut), seconds until the group
     and the VIP answer from the other node; files intact; bring it back; replication caught
     up; a highstate converges with zero changes on every host
  7. OpenNebula: the group's `opennebula` unit runs the real oned (/usr/bin/oned, built from
     source into the base image); it answers oneadmin's CLI; the hypervisors registered by
     opennebula.register reach MONITORED (real monitord probes over oneadmin's ssh); after
     the crash the survivor's oned answers with the same hosts and datastores (replicated
     MariaDB)
  8. VMs (labkit.cloud, through oned's API): the test guest registered as images, a VM
     deployed (RUNNING, qemu on its hypervisor, disk on the shared datastore), live-migrated
     to the other hypervisor (guest ticks never reset), a second deploy caught in PROLOG by
     the crash; after the failover the survivor's oned reports the first VM RUNNING on the
     same host with the guest still ticking, a new VM runs, the highstate's opennebula.recover
     reports the VM the crash left in PROLOG (policy report: no change), opennebula.recover
     with policy retry brings it up, and one more highstate with the cloud running has zero
     changes on every host
Parts whose formula states are still placeholders skip with the SLS names (see
Lab.require_states): they turn on by themselves once those states exist.
"""
import os
import shlex
import time
import uuid
import xml.etree.ElementTree as ET

import pytest
from labkit import cloud as CLOUD
LAB_ON = os.environ.get("LAB") == "1"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.skipif(not LAB_ON, reason="lab e2e: run `make lab-test` (LAB=1, root)"),
    pytest.mark.skipif((os.environ.get("VARIANT") or "moosefs") != "moosefs",
                       reason="the moosefs/pacemaker lab: `make lab-test` without VARIANT"),
]

CLUSTER_SLS = ("pacemaker.config", "pacemaker.service", "pacemaker.resources")
STATE = {}  # facts handed from one test to the next
RUN = uuid.uuid4().hex[:6]  # this run's VM names (a reused lab keeps the last run's VMs)
VM_A, VM_B, VM_C = (f"lab-vm-{n}-{RUN}" for n in "abc")


# ------------------------------------------------------------------ highstates
def _assert_ok(summ):
    bad = {h: (s["error"] or s["failed"] or "no states")
           for h, s in summ.items() if s["error"] or s["failed"] or not s["states"]}
    assert not bad, f"highstate failed: {bad}"


def _first(lab, method):
    # LAB_REUSE=1 (development): the running lab's hosts are kept, the highstate is a rerun
    fresh = os.environ.get("LAB_REUSE") != "1"
    lab.up(method, fresh=fresh)
    secs, summ, _ = lab.highstate(method, f"{method}-first")
    lab.figure(f"first highstate ({method}, {'fresh' if fresh else 'reused (LAB_REUSE=1)'} hosts)",
               f"{secs}s, states per host "
           f"{ {h: s['states'] for h, s in summ.items()} }")
    _assert_ok(summ)


def _second(lab, method, label):
    if f"{method}-first" not in lab.results:
        pytest.skip("the first highstate did not run")
    secs, summ, _ = lab.highstate(method, label)
    counts = {h: len(s["changed"]) for h, s in summ.items()}
    lab.figure(f"{label} highstate ({method})", f"{secs}s, changes per host {counts}")
    _assert_ok(summ)
    changed = {h: s["changed"] for h, s in summ.items() if s["changed"]}
    assert not changed, f"not idempotent, states with changes: {changed}"


def test_ssh_first_highstate(lab):
    _first(lab, "ssh")


def test_ssh_second_highstate_zero_changes(lab):
    _second(lab, "ssh", "ssh-second")


def test_master_first_highstate(lab):
    _first(lab, "master")


def test_master_second_highstate_zero_changes(lab):
    _second(lab, "master", "master-second")


# ------------------------------------------------------------------ names (/etc/hosts)
def test_every_host_resolves_every_other_host(lab):
    """`getent hosts` on every host: each other host's name on every network
    (<host>.<network domain>) and its short name give that host's address there."""
    lab.require_states("opennebula.host.hosts")
    t = lab.topo
    c = t.pillar["cluster"]
    doms = c.get("network_domains") or {}
    want = {}  # name -> address
    for host in t.hosts:
        for net in t.networks:
            if net in t.addrs[host]:
                want[f"{host}.{doms.get(net, c.get('domain'))}"] = t.addrs[host][net]
        short_net = "san" if "san" in t.addrs[host] else sorted(t.addrs[host])[0]
        want[host] = t.addrs[host][short_net]
    bad = {}
    for host in t.hosts:
        names = [n for n in want if n.split(".")[0] != host]
        p = lab.ssh(host, "getent hosts " + " ".join(names), timeout=30)
        got = {}
        for line in p.stdout.splitlines():
            parts = line.split()
            for n in parts[1:]:
                if n in names:
                    got[n] = parts[0]
        wrong = {n: (got.get(n), want[n]) for n in names if got.get(n) != want[n]}
        if wrong:
            bad[host] = wrong
    assert not bad, f"names not resolving to their address (got, want): {bad}"
    lab.figure("names", f"{len(t.hosts)} hosts resolve {len(want)} names of the others (getent hosts)")


# ------------------------------------------------------------------ cluster checks
def cluster(lab):
    # the group runs the unit opennebula (ocf:opennebula-ha:SystemdUnit): it comes from
    # opennebula.service
    lab.require_states(*CLUSTER_SLS, "opennebula.service")
    vip = lab.topo.vips["lan"]
    group = lab.check.vip_group(lab.ctl, lab.topo, lab.topo.frontends[0], vip)
    assert group, f"no group holds an IPaddr2 primitive with ip={vip} in the CIB"
    return group, vip


def test_cluster_both_frontends_online(lab):
    lab.require_states("pacemaker.config", "pacemaker.service")
    t = lab.topo

    def ready():
        st = lab.crm_status(t.frontends[0])
        dc = st.find("summary/current_dc") if st is not None else None
        online = lab.check.online_nodes(st)
        if online == sorted(t.frontends) and dc is not None and dc.get("with_quorum") == "true":
            return online, dc.get("name")
        return None

    (online, dc), secs = lab.wait_for(ready, 120, what="both front-ends online with a DC and quorum")
    lab.figure("cluster membership", f"online {online}, DC {dc}, quorum (settled {secs}s after highstate)")


def test_cluster_group_on_one_node(lab):
    group, vip = cluster(lab)
    t = lab.topo

    def ready():
        st = lab.crm_status(t.frontends[0])
        online = lab.check.online_nodes(st)
        node = lab.check.group_node(st, group)
        return (online, node) if online == sorted(t.frontends) and node else None

    (online, node), secs = lab.wait_for(ready, 120, what=f"both front-ends online + group {group} Started")
    lab.figure("cluster", f"online {online}, group {group} on {node} (settled {secs}s after highstate)")
    STATE.update(group=group, active=node, vip=vip)


def test_vip_answers_from_active_node(lab):
    if "active" not in STATE:
        lab.require_states(*CLUSTER_SLS)
        pytest.skip("cluster check did not pass")
    t = lab.topo
    probe = t.hypervisors[0] if t.hypervisors else t.frontends[-1]
    vip, active = STATE["vip"], STATE["active"]
    assert lab.ssh(probe, f"ping -c1 -W2 {vip}").returncode == 0, f"{vip} does not answer ping from {probe}"
    assert lab.check.vip_mac_from(lab.ctl, t, probe, vip) == lab.check.mac_of(lab.ctl, t, active), \
        f"ARP for {vip} is not answered by the active node {active}"
    if lab.sls_ids("opennebula.proxy"):
        port = t.pillar.get("opennebula", {}).get("proxy", {}).get("port", 443)
        p = lab.ssh(probe, f"curl -sk -o /dev/null -w '%{{http_code}}' https://{vip}:{port}/", timeout=30)
        assert p.stdout.strip() not in ("", "000"), f"proxy on https://{vip}:{port}/ does not answer"
        lab.figure("proxy on VIP", f"HTTP {p.stdout.strip()} from {probe}")


# ------------------------------------------------------------------ MariaDB
def slave_status(lab, host):
    p = lab.ssh(host, "mysql -e 'SHOW SLAVE STATUS\\G'", timeout=20)
    out = {}
    for line in p.stdout.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def replication_caught_up(lab):
    fes = lab.topo.frontends[:2]
    for h in fes:
        s = slave_status(lab, h)
        if not (s.get("Slave_IO_Running") == "Yes" and s.get("Slave_SQL_Running") == "Yes"
                and s.get("Seconds_Behind_Master") == "0"):
            return None
    # a marker row each way
    for src, dst in ((fes[0], fes[1]), (fes[1], fes[0])):
        mark = uuid.uuid4().hex
        lab.ssh(src, "mysql -e \"CREATE DATABASE IF NOT EXISTS lab_e2e; CREATE TABLE IF NOT EXISTS "
                     "lab_e2e.marks (k VARCHAR(64) PRIMARY KEY, src VARCHAR(64)); "
                     f"INSERT INTO lab_e2e.marks VALUES ('{mark}', '{src}')\"", check=True)
        # not raising: the caller's wait goes on (a slave that lost its master retries the
        # connection every MASTER_CONNECT_RETRY = 60 s)
        t0 = time.monotonic()
        while mark not in lab.ssh(dst, f"mysql -NBe \"SELECT k FROM lab_e2e.marks WHERE k='{mark}'\"").stdout:
            if time.monotonic() - t0 > 60:
                return None
            time.sleep(0.5)
    return True


def test_mariadb_replication_caught_up(lab):
    lab.require_states("opennebula.db")
    db = lab.topo.pillar.get("opennebula", {}).get("db", {})
    if db.get("replication") != "master-master":
        pytest.skip("lab pillar has no master-master replication")
    _, secs = lab.wait_for(lambda: replication_caught_up(lab), 120, interval=2,
                       what="master-master replication caught up")
    lab.figure("mariadb replication", f"caught up both ways ({secs}s)")


# ------------------------------------------------------------------ MooseFS
def mfs_mount(lab, host):
    """Mount point of the MooseFS client (mfsmount: FUSE, source/fstype name mfs)."""
    p = lab.ssh(host, "findmnt -rn -o TARGET,SOURCE,FSTYPE", timeout=20)
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].startswith("fuse") and "mfs" in (parts[1] + parts[2]):
            return parts[0]
    return None


def test_moosefs_write_before_drill(lab):
    lab.require_states("storage.moosefs.client")
    t = lab.topo
    client = t.hypervisors[0] if t.hypervisors else t.frontends[0]
    mnt = mfs_mount(lab, client)
    assert mnt, f"no MooseFS (fuse) mount on {client}"
    d = f"{mnt}/.lab-e2e"
    lab.ssh(client, f"mkdir -p {d} && for i in 1 2 3; do head -c 4M /dev/urandom > {d}/f$i; done && "
                    f"sync && cd {d} && sha256sum f1 f2 f3 > /root/lab-e2e.sha256", check=True, timeout=120)
    STATE.update(mfs_client=client, mfs_dir=d)


def mfs_intact(lab):
    c, d = STATE["mfs_client"], STATE["mfs_dir"]
    return lab.ssh(c, f"cd {d} && sha256sum -c --quiet /root/lab-e2e.sha256", timeout=60).returncode == 0


# ------------------------------------------------------------------ OpenNebula (real oned)
def one_cli(lab, host, *argv, timeout=60):
    """oneadmin's CLI on `host` (argument list, quoted for the remote shell): parsed XML."""
    p = lab.ssh(host, shlex.join(["runuser", "-u", "oneadmin", "--", *argv, "-x"]), timeout=timeout)
    if p.returncode != 0:
        return None
    try:
        return ET.fromstring(p.stdout)
    except ET.ParseError:
        return None


def one_pools(lab, host):
    hosts = one_cli(lab, host, "onehost", "list")
    dss = one_cli(lab, host, "onedatastore", "list")
    if hosts is None or dss is None:
        return None
    return ({h.findtext("NAME"): h.findtext("STATE") for h in hosts.findall("HOST")},
            sorted(d.findtext("NAME") for d in dss.findall("DATASTORE")))


def test_real_oned_runs_and_monitors_hypervisors(lab):
    if "active" not in STATE:
        lab.require_states(*CLUSTER_SLS)
        pytest.skip("cluster check did not pass")
    lab.require_states("opennebula.register")
    active, t = STATE["active"], lab.topo
    pid = lab.ssh(active, "systemctl show -P MainPID opennebula").stdout.strip()
    exe = lab.ssh(active, shlex.join(["readlink", f"/proc/{pid}/exe"])).stdout.strip()
    assert exe == "/usr/bin/oned", f"the opennebula unit on {active} runs {exe!r} (pid {pid}), not oned"
    version = lab.ssh(active, "oned --version").stdout.split("\n")[0]

    def monitored():
        pools = one_pools(lab, active)
        if pools and all(pools[0].get(h) == "2" for h in t.hypervisors):  # 2 = MONITORED
            return pools
        return None

    pools, secs = lab.wait_for(monitored, 240, interval=3,
                               what=f"hypervisors {t.hypervisors} MONITORED in oned on {active}")
    lab.figure("OpenNebula", f"{version} (pid {pid} on {active}); hosts {pools[0]} MONITORED "
               f"{secs}s after the cluster settled; datastores {pools[1]}")
    STATE["one_pools"] = pools


def test_marketplaces_as_the_pillar_says(lab):
    """The lab reaches no internet: the pillar disables oned's "OpenNebula Public", and real
    oned reports it DISABLED (no monitoring requests to the internet)."""
    need_cloud()
    wanted = ((lab.topo.pillar.get("opennebula", {}).get("register", {}) or {})
              .get("marketplaces") or {})
    assert wanted, "the lab pillar lists no marketplace"
    got = {m.NAME: int(m.STATE) for m in cloud(lab).marketpool.info().MARKETPLACE}
    for name, want in wanted.items():
        assert got.get(name, 1) == (0 if want["enabled"] else 1), (name, got)
    lab.figure("OpenNebula", "marketplaces " + ", ".join(
        f"{n}: {'ENABLED' if s == 0 else 'DISABLED'}" for n, s in sorted(got.items())))


# ------------------------------------------------------------------ VMs on the real cloud
def cloud(lab):
    return CLOUD.client(lab.ctl, lab.topo)


def need_cloud(*keys):
    missing = [k for k in ("one_pools", *keys) if k not in STATE]
    if missing:
        pytest.skip(f"an earlier cloud step did not pass ({', '.join(missing)})")


def running_on(lab, host, vm_id, name, disk_dir=None):
    """The VM's qemu runs on `host` and its guest ticks there; returns (pid, last tick)."""
    pid, _ = lab.wait_for(lambda: CLOUD.qemu_pid(lab.ctl, lab.topo, host, vm_id), 30,
                          what=f"qemu of VM {vm_id} on {host}")
    series, _ = lab.wait_for(lambda: CLOUD.ticks(lab.ctl, lab.topo, host, name), 120, interval=1,
                             what=f"guest {name} ticking on {host}")
    return pid, series[-1]


def test_vm_deploy_runs_on_shared_datastore(lab):
    """Check 1: the guest registered as images, a VM deployed on the first hypervisor."""
    need_cloud()
    t, one = lab.topo, cloud(lab)
    reg = CLOUD.register_guest(lab.ctl, one)
    hosts = CLOUD.host_ids(one)
    system_ds = CLOUD.datastores(one)
    sys_ids = sorted(i for n, (i, ty) in system_ds.items() if ty == 1 and n != "system")
    hv = t.hypervisors[0]
    t0 = time.monotonic()
    vm_id = CLOUD.instantiate(one, reg["template"], VM_A)
    one.vm.deploy(vm_id, hosts[hv], False, sys_ids[0] if sys_ids else -1)
    info, secs = CLOUD.wait_vm(one, vm_id, (CLOUD.VM_ACTIVE, CLOUD.LCM_RUNNING), 300, "RUNNING")
    assert info["host"] == hv
    pid, _ = running_on(lab, hv, vm_id, VM_A)
    boot_s = round(time.monotonic() - t0, 1)
    ds_path = one.datastore.info(sys_ids[0]).BASE_PATH if sys_ids else "/var/lib/one/datastores/0"
    disk = f"{ds_path.rstrip('/')}/{vm_id}/disk.0"
    src, fstype = CLOUD.disk_fs(lab.ctl, t, hv, disk)
    assert fstype and fstype.startswith("fuse") and "mfs" in (src or ""), \
        f"VM {vm_id}'s disk {disk} on {hv} is on {src} ({fstype}), not the shared MooseFS datastore"
    lab.figure("VM deploy", f"VM {vm_id} RUNNING on {hv} {secs}s after instantiate+deploy (images "
               f"READY in {reg['seconds']}s), the guest ticking on its console {boot_s}s after the "
               f"instantiate (TCG boot); qemu pid {pid}, "
               f"disk on {src} ({fstype})")
    STATE.update(guest=reg, vm_a=vm_id, vm_a_host=hv, sys_ds=sys_ids[0] if sys_ids else -1)


def test_vm_live_migration(lab):
    """Check 2: `onevm migrate --live` to the other hypervisor; the guest never restarts."""
    need_cloud("vm_a")
    t, one = lab.topo, cloud(lab)
    if len(t.hypervisors) < 2:
        pytest.skip("one hypervisor in the lab pillar: nothing to migrate to")
    vm_id, src = STATE["vm_a"], STATE["vm_a_host"]
    dst = next(h for h in t.hypervisors if h != src)
    before = CLOUD.ticks(lab.ctl, t, src, VM_A)
    seen, secs = CLOUD.migrate_live(one, vm_id, dst, CLOUD.host_ids(one)[dst])
    downtime = CLOUD.migration_downtime_ms(lab.ctl, t, dst, vm_id)
    pid, _ = running_on(lab, dst, vm_id, VM_A)
    assert CLOUD.qemu_pid(lab.ctl, t, src, vm_id) is None, f"qemu of VM {vm_id} still runs on {src}"
    time.sleep(3)
    series = CLOUD.ticks(lab.ctl, t, src, VM_A) + CLOUD.ticks(lab.ctl, t, dst, VM_A)
    ok, step = CLOUD.never_restarted(series)
    assert ok and series[-1][0] > before[-1][0], \
        f"guest restarted or stopped across the migration: {series[-6:]}"
    lab.figure("VM live migration", f"VM {vm_id} {src} -> {dst}: RUNNING on {dst} {secs}s after "
               f"`onevm migrate --live` (MIGRATE after {seen}s), downtime {downtime} ms (libvirt), "
               f"largest guest uptime step between ticks {step}s, ticks {before[-1][0]} -> "
               f"{series[-1][0]} on one boot")
    STATE.update(vm_a_host=dst, vm_a_pid=pid)


def test_vm_deploy_in_flight_at_crash(lab):
    """A second VM's deploy started right before the drill: the crash below catches it in
    PROLOG (the datastore driver copying the kernel from the dying front-end)."""
    need_cloud("guest")
    t, one = lab.topo, cloud(lab)
    hv = t.hypervisors[0]
    vm_id = CLOUD.instantiate(one, STATE["guest"]["template"], VM_B)
    one.vm.deploy(vm_id, CLOUD.host_ids(one)[hv], False, STATE["sys_ds"])
    _, secs = lab.wait_for(lambda: CLOUD.vm_info(one, vm_id)["lcm"] == CLOUD.LCM_PROLOG, 60, interval=0.2,
                           what=f"VM {vm_id} in PROLOG")
    STATE.update(vm_b=vm_id, vm_b_host=hv)
    STATE["ticks_before_crash"] = CLOUD.ticks(lab.ctl, t, STATE.get("vm_a_host", hv), VM_A)


# ------------------------------------------------------------------ fault drill
def test_failover_crash_active_frontend(lab):
    if "active" not in STATE:
        lab.require_states(*CLUSTER_SLS)
        pytest.skip("cluster check did not pass")
    active, group, vip = STATE["active"], STATE["group"], STATE["vip"]
    STATE["crash_t0"] = time.monotonic()
    wall_t0 = time.time()
    survivor, t_group, t_vip = lab.check.failover(lab.ctl, lab.topo, active, group, vip)
    lab.figure("failover (SIGKILL of the active front-end's systemd)",
               f"group {group} Started on {survivor} after {t_group}s, VIP {vip} answering from "
               f"{survivor} after {t_vip}s")
    # where the seconds went, from the survivor's journal
    tl = lab.check.pacemaker_timeline(lab.ctl, lab.topo, survivor, wall_t0)
    lab.figure("failover timeline (s after the crash)", "; ".join(lab.check.format_timeline(tl)))
    STATE.update(crashed=active, survivor=survivor, failover_group_s=t_group, failover_vip_s=t_vip)
    assert t_group is not None, f"group {group} not Started on {survivor} within 180s"
    assert t_vip is not None, f"VIP {vip} not answered by {survivor} within 180s"


def test_real_oned_same_cloud_after_failover(lab):
    if "survivor" not in STATE or "one_pools" not in STATE:
        pytest.skip("the failover or the OpenNebula check did not pass")
    survivor = STATE["survivor"]
    before_hosts, before_ds = STATE["one_pools"]

    def same():
        pools = one_pools(lab, survivor)
        return pools if pools and sorted(pools[0]) == sorted(before_hosts) else None

    (hosts, dss), secs = lab.wait_for(same, 180, interval=2,
                                      what=f"oned on {survivor} answering with the same hosts")
    lab.figure("OpenNebula after failover", f"oned on {survivor} answered with hosts {sorted(hosts)} "
               f"{secs}s after the group was Started ({STATE.get('failover_group_s')}s after the crash)")
    assert dss == before_ds, f"datastores before {before_ds}, after the failover {dss}"


def test_vm_still_running_after_failover(lab):
    """Check 3: the survivor's oned (replicated MariaDB) reports the VM RUNNING on the same
    host; its qemu is the same process and the guest kept ticking."""
    need_cloud("vm_a", "survivor")
    t = lab.topo
    vm_id, hv = STATE["vm_a"], STATE["vm_a_host"]
    one, secs = lab.wait_for(lambda: cloud(lab) if CLOUD.answering(cloud(lab)) else None, 180,
                             what="oned answering on the VIP after the failover")
    answered = round(time.monotonic() - STATE["crash_t0"], 1)
    info = CLOUD.vm_info(one, vm_id)
    assert (info["state"], info["lcm"], info["host"]) == (CLOUD.VM_ACTIVE, CLOUD.LCM_RUNNING, hv), \
        f"after the failover oned reports VM {vm_id} as {info}, not RUNNING on {hv}"
    listed = round(time.monotonic() - STATE["crash_t0"], 1)
    assert CLOUD.qemu_pid(lab.ctl, t, hv, vm_id) == STATE.get("vm_a_pid", CLOUD.qemu_pid(lab.ctl, t, hv, vm_id))
    before = STATE["ticks_before_crash"]
    time.sleep(2)
    series = CLOUD.ticks(lab.ctl, t, hv, VM_A)
    ok, step = CLOUD.never_restarted(series)
    assert ok and series[-1][0] > before[-1][0], f"guest restarted or stopped: {series[-6:]}"
    lab.figure("VM through the failover", f"oned on {STATE['survivor']} answered {answered}s after "
               f"the crash; VM {vm_id} RUNNING on {hv} in its VM list at {listed}s; same qemu pid, "
               f"guest ticks {before[-1][0]} -> {series[-1][0]} on one boot (largest step {step}s)")


def test_vm_created_after_failover(lab):
    need_cloud("guest", "survivor")
    t, one = lab.topo, cloud(lab)
    hv = t.hypervisors[-1]
    t0 = time.monotonic()
    vm_id = CLOUD.instantiate(one, STATE["guest"]["template"], VM_C)
    one.vm.deploy(vm_id, CLOUD.host_ids(one)[hv], False, STATE["sys_ds"])
    _, secs = CLOUD.wait_vm(one, vm_id, (CLOUD.VM_ACTIVE, CLOUD.LCM_RUNNING), 300, "RUNNING")
    running_on(lab, hv, vm_id, VM_C)
    lab.figure("VM after the failover", f"VM {vm_id} RUNNING on {hv} {secs}s after instantiate+deploy "
               f"on {STATE['survivor']}'s oned, guest ticking {round(time.monotonic() - t0, 1)}s after")
    STATE["vm_c"] = vm_id


def mfs_master(lab):
    st = lab.topo.pillar.get("storage", {}).get("moosefs", {})
    return st.get("master") or lab.topo.frontends[0]


def test_moosefs_intact_after_failover(lab):
    if "mfs_dir" not in STATE or "crashed" not in STATE:
        lab.require_states("storage.moosefs.client", *CLUSTER_SLS)
        pytest.skip("MooseFS write or failover step did not pass")
    if STATE["crashed"] == mfs_master(lab):
        # the storage-architectures guide's design: mfsmaster is no cluster resource; it stays on
        # its front-end and the metalogger on the other one only serves a manual `mfsmaster -a`
        # recovery. With that node down every mfsmount waits for it: the files are checked after
        # the rejoin.
        pytest.skip(f"the crashed node {STATE['crashed']} runs the MooseFS master (not HA by "
                    "design, storage/moosefs/init.sls): files checked after its rejoin")
    _, secs = lab.wait_for(lambda: mfs_intact(lab), 180, interval=2, what="MooseFS files intact after failover")
    lab.figure("moosefs after failover", f"files intact ({secs}s after the group moved)")


def test_crashed_frontend_rejoins_and_highstate_converges(lab):
    if "crashed" not in STATE:
        lab.require_states(*CLUSTER_SLS)
        pytest.skip("failover step did not pass")
    t = lab.topo
    crashed = STATE["crashed"]
    t0 = time.monotonic()
    lab.ctl.stop_host(crashed)
    lab.ctl.mk_host(t, crashed)
    lab.ctl.boot_host(crashed)
    lab.ctl.wait_booted(t, [crashed], t0)

    def both_online():
        return lab.check.online_nodes(lab.crm_status(STATE["survivor"])) == sorted(t.frontends)

    _, secs = lab.wait_for(both_online, 180, what=f"{crashed} back online in the cluster")
    lab.figure("rejoin", f"{crashed} booted and online in the cluster after {round(time.monotonic() - t0, 1)}s")
    if lab.sls_ids("opennebula.db"):
        lab.wait_for(lambda: replication_caught_up(lab), 180, interval=2,
                 what="replication caught up after rejoin")
    if "mfs_dir" in STATE:
        _, msecs = lab.wait_for(lambda: mfs_intact(lab), 180, interval=2,
                                what="MooseFS files intact after the rejoin")
        lab.figure("moosefs after rejoin", f"files written before the drill intact ({msecs}s after "
                   "the rejoin)")
    secs, summ, _ = lab.highstate("ssh", "after-rejoin")
    counts = {h: len(s["changed"]) for h, s in summ.items()}
    lab.figure("highstate after rejoin (ssh)", f"{secs}s, changes per host {counts}")
    _assert_ok(summ)
    assert not any(counts.values()), \
        f"not converged after rejoin: {({h: s['changed'] for h, s in summ.items() if s['changed']})}"


# ------------------------------------------------------------------ transient VMs, check 5
def recover_state(raw, host):
    """The opennebula.recover state's return on `host` in a highstate's raw output."""
    ret = (raw or {}).get(host) or {}
    if isinstance(ret, dict) and "return" in ret and isinstance(ret["return"], dict):
        ret = ret["return"]
    for key, val in ret.items() if isinstance(ret, dict) else ():
        if "opennebula-recover-transient" in key and isinstance(val, dict):
            return val
    return None


def active_frontend(lab):
    group = STATE["group"]
    return lab.check.group_node(lab.crm_status(STATE["survivor"]), group)


def test_highstate_reports_vm_left_in_prolog(lab):
    """Check 4, policy report: the highstate after the rejoin found the VM the crash caught in
    PROLOG, said so in its comment and changed nothing."""
    need_cloud("vm_b", "survivor")
    if "after-rejoin" not in lab.results:
        pytest.skip("the highstate after the rejoin did not run")
    vm_id, one = STATE["vm_b"], cloud(lab)
    info = CLOUD.vm_info(one, vm_id)
    lcm = CLOUD.pyone.LCM_STATE(info["lcm"]).name
    active = active_frontend(lab)
    ret = recover_state(lab.results["after-rejoin"][2], active)
    assert ret is not None, f"no opennebula-recover-transient state in {active}'s highstate"
    assert ret["result"] is True and not ret["changes"], f"policy report changed something: {ret}"
    assert f"{vm_id} ({VM_B}: {lcm})" in ret["comment"], \
        f"VM {vm_id} ({lcm}) not in the report: {ret['comment']}"
    lab.figure("transient VM after the crash", f"VM {vm_id} left in {lcm} on {info['host']}; "
               f"highstate on {active}: {ret['comment']!r}, no changes")
    STATE["vm_b_lcm"] = lcm


def test_recover_retry_brings_the_vm_up(lab):
    """Check 4, policy retry: opennebula.recover re-runs the interrupted action, the VM runs."""
    need_cloud("vm_b_lcm")
    vm_id, hv = STATE["vm_b"], STATE["vm_b_host"]
    secs, summ, raw = lab.ctl.highstate(lab.topo, "ssh", sls="opennebula.recover",
                                        pillar={"opennebula": {"recover_transient": "retry"}},
                                        label="opennebula.recover retry (ssh)")
    _assert_ok(summ)
    ret = recover_state(raw, active_frontend(lab))
    assert ret and ret["changes"].get("recovered", {}).get("new"), f"nothing recovered: {ret}"
    one = cloud(lab)
    _, up = CLOUD.wait_vm(one, vm_id, (CLOUD.VM_ACTIVE, CLOUD.LCM_RUNNING), 300, "RUNNING after retry")
    running_on(lab, hv, vm_id, VM_B)
    lab.figure("recover retry", f"opennebula.recover (policy retry) in {secs}s: {ret['comment']!r}; "
               f"VM {vm_id} RUNNING on {hv} {up}s later")


def test_highstate_zero_changes_with_the_cloud_running(lab):
    """Check 5: with VMs running, one more highstate changes nothing anywhere (hosts,
    datastores and clusters as real oned stores them)."""
    need_cloud("vm_a")
    secs, summ, raw = lab.highstate("ssh", "cloud-running")
    counts = {h: len(s["changed"]) for h, s in summ.items()}
    _assert_ok(summ)
    changed = {h: s["changed"] for h, s in summ.items() if s["changed"]}
    assert not changed, f"not idempotent with the cloud running: {changed}"
    vms = CLOUD.vm_list(cloud(lab))
    running = sorted(i for i, (st, lcm, _) in vms.items() if (st, lcm) == (CLOUD.VM_ACTIVE, CLOUD.LCM_RUNNING))
    ret = recover_state(raw, active_frontend(lab)) if "survivor" in STATE else None
    lab.figure("highstate with the cloud running (ssh)", f"{secs}s, changes per host {counts}; "
               f"VMs RUNNING {running}; recover: {ret['comment'] if ret else '-'}")
