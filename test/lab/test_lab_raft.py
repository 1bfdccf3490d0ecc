"""The raft variant of the container lab (`make lab-test VARIANT=raft`, LAB=1, root):
3 front-ends running real oned 7.4 in one Raft zone (OpenNebula's own HA, no cluster
manager), 1 hypervisor, ssh datastores. Tests run top to bottom on one lab:

  1. salt-ssh: fresh hosts, the first highstate builds the zone the "Front-end HA" guide's
     way (opennebula.service: bootstrap + server-add on the first front-end, the others
     join one at a time), the second has zero changes
  2. the zone: one leader, two followers, same term and commit; oned.conf SERVER_ID is the
     model's; the VIPs only on the leader (RAFT_LEADER_HOOK, vip.sh); monitord.conf
     MONITOR_ADDRESS is the VIP and the hypervisor is MONITORED (its probes' config names
     the VIP); one_auth, fireedge_key and the zone's one_key identical on every front-end
  3. drill (a): SIGKILL the leader's systemd (a power cut): a new leader within the Raft
     timeouts, the VIP follows it, an API write through the VIP succeeds; the old leader's
     host comes back, rejoins as follower, catches up (log index) and serves the write
  4. drill (b): SIGKILL a follower: leader and VIP stay, writes succeed; it comes back
  5. a highstate after the drills: zero changes on every host
  6. salt-master: fresh hosts again, the same zone from minions (no orchestration: the
     followers' states wait on the leader), a second highstate with zero changes
Election and VIP-move seconds are printed (figures), never asserted.
"""
import json
import os
import time
import uuid
import xmlrpc.client

import pyone
import pytest
from labkit import cloud as CLOUD

LAB_ON = os.environ.get("LAB") == "1"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.skipif(not LAB_ON, reason="lab e2e: run `make lab-test VARIANT=raft` (LAB=1, root)"),
    pytest.mark.skipif(os.environ.get("VARIANT") != "raft",
                       reason="the raft lab: `make lab-test VARIANT=raft`"),
]

STATE = {}
RUN = uuid.uuid4().hex[:6]
CAPTURES = "raft-captures"  # .lab/raft-captures/: real oned answers for test/fixtures


def _assert_ok(summ):
    bad = {h: (s["error"] or s["failed"] or "no states")
           for h, s in summ.items() if s["error"] or s["failed"] or not s["states"]}
    assert not bad, f"highstate failed: {bad}"


def _zero_changes(lab, label, method="ssh"):
    secs, summ, raw = lab.highstate(method, label)
    counts = {h: len(s["changed"]) for h, s in summ.items()}
    lab.figure(f"raft {label} highstate ({method})", f"{secs}s, changes per host {counts}")
    _assert_ok(summ)
    changed = {h: {sid: (raw.get(h) or {}).get(sid, {}).get("changes") for sid in s["changed"]}
               for h, s in summ.items() if s["changed"]}
    assert not changed, f"not idempotent, states with changes: {json.dumps(changed)[:3000]}"


def client(lab, host, timeout=5):
    return pyone.OneServer(f"http://{lab.topo.addrs[host]['san']}:2633/RPC2",
                           session=CLOUD.one_auth(lab.ctl), timeout=timeout)


def raw_call(lab, host, method, *args):
    """oned's XML answer as text (what pyone parses): the captured fixtures."""
    proxy = xmlrpc.client.ServerProxy(f"http://{lab.topo.addrs[host]['san']}:2633/RPC2")
    fun = proxy
    for part in method.split("."):
        fun = getattr(fun, part)
    ok, body, *_ = fun(CLOUD.one_auth(lab.ctl), *args)
    assert ok, body
    return body


def statuses(lab, hosts=None):
    return {h: lab.check.raft_status(client(lab, h)) for h in (hosts or lab.topo.frontends)}


def capture(lab, name, text):
    d = lab.ctl.LAB / CAPTURES
    d.mkdir(exist_ok=True)
    (d / name).write_text(text)


def need(*keys):
    missing = [k for k in keys if k not in STATE]
    if missing:
        pytest.skip(f"an earlier step did not pass ({', '.join(missing)})")


# ------------------------------------------------------------------ highstates
def test_first_highstate_builds_the_zone(lab):
    fresh = os.environ.get("LAB_REUSE") != "1"
    t0 = time.monotonic()
    lab.up("ssh", fresh=fresh)
    lab.figure("raft hosts up", f"{round(time.monotonic() - t0, 1)}s ({', '.join(lab.topo.hosts)})")
    secs, summ, raw = lab.highstate("ssh", "ssh-first")
    STATE["first"] = True
    lab.figure("raft first highstate (ssh)", f"{secs}s, states per host "
               f"{ {h: s['states'] for h, s in summ.items()} }, per host state s "
               f"{ {h: round(s['duration_s'], 1) for h, s in summ.items()} }")
    for h in lab.topo.frontends:
        for sid, r in (raw.get(h) or {}).items():
            if "raft-join" in sid or "raft-bootstrap" in sid or "raft-member" in sid:
                print(f"raft: {h} {r.get('__id__')}: {r.get('comment')} ({round(r.get('duration', 0) / 1000, 1)}s)")
    _assert_ok(summ)


def test_second_highstate_zero_changes(lab):
    need("first")
    _zero_changes(lab, "ssh-second")


# ------------------------------------------------------------------ the zone
def test_one_leader_two_followers_same_commit(lab):
    need("first")

    def settled():
        sts = statuses(lab)
        states = sorted(s["state"] for s in sts.values() if s)
        commits = {s["commit"] for s in sts.values() if s}
        return sts if states == ["FOLLOWER", "FOLLOWER", "LEADER"] and len(commits) == 1 else None

    sts, secs = lab.wait_for(settled, 60, what="one leader, two followers, one commit index")
    leader = lab.check.raft_leader(sts)
    STATE["leader"] = leader
    print(f"raft: {json.dumps(sts)}")
    ids = {h: s["server_id"] for h, s in sts.items()}
    assert ids == {f: i for i, f in enumerate(lab.topo.frontends)}
    for h in lab.topo.frontends:
        conf = lab.ssh(h, "grep -A6 '^FEDERATION' /etc/one/oned.conf", check=True).stdout
        assert f"SERVER_ID     = {ids[h]}," in conf, conf
    show = lab.ssh(leader, "sudo -u oneadmin onezone show 0 -x", check=True).stdout
    capture(lab, "onezone-show-0.xml", show)
    capture(lab, "raftstatus.json", json.dumps(sts, indent=1))
    for h in lab.topo.frontends:
        capture(lab, f"raftstatus-{h}.xml", raw_call(lab, h, "one.zone.raftstatus"))
    capture(lab, "zone-info-0.xml", raw_call(lab, leader, "one.zone.info", 0))
    lab.figure("raft zone", f"leader {leader} (term {sts[leader]['term']}, commit "
               f"{sts[leader]['commit']}), followers {', '.join(h for h in sts if h != leader)}")


def test_vips_only_on_the_leader(lab):
    need("leader")
    leader = STATE["leader"]
    for h in lab.topo.frontends:
        addrs = lab.ssh(h, "ip -o -4 addr show dev host0", check=True).stdout
        for net, vip in lab.topo.vips.items():
            assert (f" {vip}/" in addrs) == (h == leader), f"{h}: VIP {vip} ({net}): {addrs}"
    assert lab.check.vip_mac_from_bridge(lab.ctl, lab.topo.vips["lan"]) == lab.check.mac_of(
        lab.ctl, lab.topo, leader)


def test_hypervisor_monitored_through_the_vip(lab):
    need("leader")
    vip = lab.topo.vips["san"]
    for h in lab.topo.frontends:
        mon = lab.ssh(h, "grep MONITOR_ADDRESS /etc/one/monitord.conf", check=True).stdout
        assert f'"{vip}"' in mon, f"{h}: {mon}"
    one = CLOUD.client(lab.ctl, lab.topo)

    def monitored():
        hosts = one.hostpool.info(-2, -1, -1).HOST
        return {h.NAME: int(h.STATE) for h in hosts} if hosts and all(
            int(h.STATE) == 2 for h in hosts) else None

    got, secs = lab.wait_for(monitored, 240, interval=3, what="every hypervisor MONITORED")
    lab.figure("hypervisors MONITORED through the VIP", f"{got} after {secs}s")
    for hv in lab.topo.hypervisors:
        cfg = lab.ssh(hv, "cat /var/tmp/one_db/config", check=True).stdout
        assert f"<MONITOR_ADDRESS><![CDATA[{vip}]]></MONITOR_ADDRESS>" in cfg or \
            f"<MONITOR_ADDRESS>{vip}</MONITOR_ADDRESS>" in cfg, cfg[:2000]


def _hashes(lab, path):
    out = {}
    for h in lab.topo.frontends:
        p = lab.ssh(h, f"sha256sum {path}", check=True)
        out[h] = p.stdout.split()[0]
    return out


def test_secrets_and_keys_identical_on_every_frontend(lab):
    need("first")
    for f in ("one_auth", "fireedge_key", "one_key"):
        got = _hashes(lab, f"/var/lib/one/.one/{f}")
        assert len(set(got.values())) == 1, f"{f} differs between front-ends"
    key = lab.ssh(lab.topo.frontends[0], "stat -c '%s %a %U' /var/lib/one/.one/fireedge_key",
                  check=True).stdout.split()
    assert key == ["32", "600", "oneadmin"]


# ------------------------------------------------------------------ drills
def _write(lab, tag):
    """An API write through the LAN VIP (a VM template), its id."""
    one = CLOUD.client(lab.ctl, lab.topo)
    return one.template.allocate(f'NAME = "raft-drill-{tag}-{RUN}"\nCPU = 0.1\nMEMORY = 32\n')


def _visible_on(lab, host, tmpl_id):
    try:
        return client(lab, host).template.info(tmpl_id).NAME
    except Exception:  # noqa: BLE001
        return None


def _reboot(lab, host):
    t0 = time.monotonic()
    lab.ctl.stop_host(host)
    lab.ctl.mk_host(lab.topo, host)
    lab.ctl.boot_host(host)
    lab.ctl.wait_booted(lab.topo, [host], t0)
    return t0


def _caught_up(lab, host, tmpl_id):
    def ok():
        sts = statuses(lab)
        mine, lead = sts.get(host), sts.get(lab.check.raft_leader(sts) or "")
        if mine and lead and mine["state"] == "FOLLOWER" and mine["log_index"] == lead["log_index"] \
                and mine["commit"] == lead["commit"] and _visible_on(lab, host, tmpl_id):
            return mine, lead
        return None
    return lab.wait_for(ok, 240, interval=1, what=f"{host} back as follower, caught up")


def test_drill_kill_the_leader(lab):
    need("leader")
    old = STATE["leader"]
    clients = {h: client(lab, h, timeout=2) for h in lab.topo.frontends}
    new, t_elect, t_vip = lab.check.raft_failover(lab.ctl, lab.topo, old, clients,
                                                  lab.topo.vips["lan"])
    lab.figure("raft drill (a): leader killed", f"{old} SIGKILLed; new leader {new} elected after "
               f"{t_elect}s, LAN VIP answering from it after {t_vip}s (election timeout "
               f"{lab.topo.pillar['opennebula']['ha'].get('raft', {}).get('election_timeout_ms', 2500)} ms)")
    assert new and new != old, "no new leader"
    assert t_vip is not None, "the VIP did not move to the new leader"
    got, secs = lab.wait_for(lambda: _try_write(lab, "a"), 60, interval=0.5,
                             what="an API write through the VIP")
    tid = got["id"]
    lab.figure("raft drill (a): first write through the VIP", f"template {tid} {secs}s after the VIP moved")
    STATE.update(new_leader=new, old_leader=old, write_a=tid)
    t0 = _reboot(lab, old)
    (mine, lead), secs = _caught_up(lab, old, tid)
    lab.figure("raft drill (a): old leader rejoined", f"{old} follower after "
               f"{round(time.monotonic() - t0, 1)}s from its boot: log index {mine['log_index']} = "
               f"leader's {lead['log_index']}, commit {mine['commit']}, write visible there")
    STATE["leader"] = new


def _try_write(lab, tag):
    try:
        return {"id": _write(lab, tag)}
    except Exception as exc:  # noqa: BLE001
        print(f"raft: write not yet: {type(exc).__name__}: {str(exc)[:120]}")
        return None


def test_drill_kill_a_follower(lab):
    need("new_leader")
    leader = STATE["leader"]
    follower = next(f for f in lab.topo.frontends if f != leader)
    mac = lab.check.mac_of(lab.ctl, lab.topo, leader)
    term = statuses(lab, [leader])[leader]["term"]
    t0 = time.monotonic()
    lab.ctl.crash_host(follower)
    tid = _write(lab, "b")  # 2 of 3 servers: still a majority
    lab.figure("raft drill (b): follower killed", f"{follower} SIGKILLed; write through the VIP "
               f"{round(time.monotonic() - t0, 1)}s later: template {tid}")
    sts = statuses(lab, [f for f in lab.topo.frontends if f != follower])
    assert sts[leader]["state"] == "LEADER" and sts[leader]["term"] == term, sts
    assert lab.check.vip_mac_from_bridge(lab.ctl, lab.topo.vips["lan"]) == mac
    t0 = _reboot(lab, follower)
    (mine, lead), secs = _caught_up(lab, follower, tid)
    lab.figure("raft drill (b): follower rejoined", f"{follower} follower after "
               f"{round(time.monotonic() - t0, 1)}s from its boot, log index {mine['log_index']}")
    STATE["drills"] = True


def test_highstate_after_the_drills_zero_changes(lab):
    need("drills")
    _zero_changes(lab, "ssh-after-drills")


def test_secrets_identical_after_the_drills(lab):
    need("drills")
    for f in ("one_auth", "fireedge_key", "one_key"):
        assert len(set(_hashes(lab, f"/var/lib/one/.one/{f}").values())) == 1, f


# ------------------------------------------------------------------ salt-master
def test_master_first_highstate_builds_the_zone(lab):
    lab.up("master", fresh=True)
    secs, summ, _ = lab.highstate("master", "master-first")
    STATE["master-first"] = True
    lab.figure("raft first highstate (master)", f"{secs}s, states per host "
               f"{ {h: s['states'] for h, s in summ.items()} }")
    _assert_ok(summ)
    sts = statuses(lab)
    assert sorted(s["state"] for s in sts.values() if s) == ["FOLLOWER", "FOLLOWER", "LEADER"], sts


def test_master_second_highstate_zero_changes(lab):
    need("master-first")
    _zero_changes(lab, "master-second", method="master")
