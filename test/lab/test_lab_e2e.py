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
Parts whose formula states are still placeholders skip with the SLS names (see
Lab.require_states): they turn on by themselves once those states exist.
"""
import os
import shlex
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

LAB_ON = os.environ.get("LAB") == "1"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.skipif(not LAB_ON, reason="lab e2e: run `make lab-test` (LAB=1, root)"),
]

CLUSTER_SLS = ("pacemaker.config", "pacemaker.service", "pacemaker.resources")
STATE = {}  # facts handed from one test to the next


# ------------------------------------------------------------------ highstates
def _assert_ok(summ):
    bad = {h: (s["error"] or s["failed"] or "no states")
           for h, s in summ.items() if s["error"] or s["failed"] or not s["states"]}
    assert not bad, f"highstate failed: {bad}"


def _first(lab, method):
    lab.up(method, fresh=True)
    secs, summ, _ = lab.highstate(method, f"{method}-first")
    lab.figure(f"first highstate ({method}, fresh hosts)", f"{secs}s, states per host "
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
    # the group holds systemd:opennebula: its unit (the oned test double in the lab) comes
    # from opennebula.service
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


# ------------------------------------------------------------------ fault drill
def test_failover_crash_active_frontend(lab):
    if "active" not in STATE:
        lab.require_states(*CLUSTER_SLS)
        pytest.skip("cluster check did not pass")
    active, group, vip = STATE["active"], STATE["group"], STATE["vip"]
    survivor, t_group, t_vip = lab.check.failover(lab.ctl, lab.topo, active, group, vip)
    lab.figure("failover (SIGKILL of the active front-end's systemd)",
               f"group {group} Started on {survivor} after {t_group}s, VIP {vip} answering from "
               f"{survivor} after {t_vip}s")
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
