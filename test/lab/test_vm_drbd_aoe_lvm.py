"""End-to-end checks of the Pacemaker/DRBD guide (VARIANT=drbd_aoe_lvm) on the VM tier of the
lab.

`make lab-vm-test VARIANT=drbd_aoe_lvm` (LAB=1, root): two front-end VMs + one hypervisor VM
(QEMU TCG, labkit.vms), the formula applied with salt-ssh. Skipped unless LAB=1 and
VARIANT=drbd_aoe_lvm (the container tier's `make lab-test` collects this file too).

Order matters (one lab, tests run top to bottom):
  1. fresh VMs, first highstate succeeds everywhere; second highstate has zero changes
  2. DRBD one-disk + data-disk Connected UpToDate/UpToDate; Pacemaker runs the Pacemaker/DRBD
     guide's whole ha_group on one front-end with both DRBD clones Promoted there;
     /srv/cloud/one mounted from DRBD and exported over NFS there; the VG on data-disk visible
     through AoE on the hypervisor (aoe-discover; vgs)
  3. data written before the drills: files on /srv/cloud/one (checksums), an LV in the VG
     written from the hypervisor through AoE (checksum)
  4. drill: kill -9 the active front-end's qemu -> ha_group + DRBD Primary move, data intact;
     highstate on the survivor while the peer is down forces nothing; the crashed VM boots
     again, resyncs without split-brain
  5. drill: cut the replication (SAN) link of the secondary, write on the primary, restore ->
     resync without split-brain, data intact
  6. a pillar naming the wrong node as drbd:initial_primary: drbd.primary refuses, the state
     changes nothing
  7. fencing (SBD on a shared disk, DRBD resource-and-stonith), each drill re-checking the
     checksums: both links between the front-ends cut while the primary writes (the
     secondary is fenced, the primary keeps the group, never two DRBD primaries; a highstate
     on the survivor changes nothing; rejoin and resync without split-brain); a hung node
     (corosync SIGSTOPped on the primary: fenced, the group moves); the SBD disk lost on
     both front-ends (nothing fenced, the cluster runs on, a warning shows)
  8. final highstate: zero changes everywhere
"""
import time
import uuid

from .conftest import assert_highstate_ok, need, vm_first_highstate, vm_highstate_zero_changes, vm_marks

VARIANT = "drbd_aoe_lvm"
pytestmark = vm_marks(VARIANT)

STATE = {}
GROUP = "ha_group"


def _need(*keys):
    need(STATE, *keys)


def _active(vm):
    return STATE.get("active")


def _survivor_of(vm, host):
    return next(f for f in vm.topo.frontends if f != host)


# ------------------------------------------------------------------ highstates
def test_first_highstate(vm):
    vm_first_highstate(vm, STATE)


def test_second_highstate_zero_changes(vm):
    vm_highstate_zero_changes(vm, STATE, "second")


# ------------------------------------------------------------------ steady state
def test_drbd_connected_uptodate(vm):
    _need("first")
    fes = vm.topo.frontends
    t0 = time.monotonic()
    for fe in fes:
        st, _ = vm.wait_for(lambda fe=fe: vm.drbd_synced(fe), 600, interval=2,
                            what=f"DRBD Connected UpToDate/UpToDate on {fe}")
    vm.fig("DRBD synced", f"{st} ({round(time.monotonic() - t0, 1)}s after the checks began)")
    STATE["synced"] = True


def test_pacemaker_runs_the_drbd_guide_group(vm):
    _need("first")
    fes = vm.topo.frontends

    def ready():
        st = vm.crm(fes[0])
        online = vm.check.online_nodes(st)
        node = vm.check.group_node(st, GROUP)
        return (online, node) if online == sorted(fes) and node else None

    (online, node), secs = vm.wait_for(ready, 300, interval=3, what=f"both online + {GROUP} Started")
    promoted = vm.promoted_on(node)
    members = [r.get("id") for g in vm.crm(node).iter("group") if g.get("id") == GROUP
               for r in g.findall("resource")]
    vm.fig("pacemaker", f"online {online}; {GROUP} on {node}: {members}; promoted {promoted} ({secs}s)")
    for want in ("fs_one", "nfs_server", "nfs_one", "aoe_data", "OpenNebula"):
        assert want in members, f"{want} missing from {GROUP}: {members}"
    for clone in ("ms_drbd_one", "ms_drbd_data"):
        assert promoted.get(clone) == [node], f"{clone} not Promoted on {node}: {promoted}"
    STATE["active"] = node


SBD_DEV = "/dev/disk/by-id/virtio-sbd0"


def test_sbd_fencing_configured(vm):
    """SBD on the shared disk: the header the formula wrote (the lab pillar's timeouts), both
    front-ends in its slots, the softdog watchdog, Pacemaker with have-watchdog and a
    started fence_sbd, DRBD's fencing resource-and-stonith with the crm-fence-peer handlers."""
    _need("active")
    fes = vm.topo.frontends
    S = vm.topo.pillar["pacemaker"]["stonith"]["sbd"]
    dump = vm.ssh(fes[0], f"sbd -d {SBD_DEV} dump", timeout=30)
    assert dump.returncode == 0, dump.stdout + dump.stderr
    assert f"Timeout (watchdog) : {S['watchdog_timeout']}" in dump.stdout, dump.stdout
    assert f"Timeout (msgwait)  : {S['msgwait_timeout']}" in dump.stdout, dump.stdout
    slots, secs = vm.wait_for(lambda: (lambda s: s if s and sorted(s) == sorted(fes) else None)(
        vm.sbd_list(fes[0], SBD_DEV)), 120, interval=3, what="both front-ends in the SBD slots")
    for fe in fes:
        p = vm.ssh(fe, "systemctl is-active sbd; lsmod | grep -c '^softdog'; test -c /dev/watchdog && echo wd; "
                       "drbdadm dump | grep -E 'fencing|fence-peer|unfence' | sort -u", timeout=60)
        assert p.stdout.split()[:3] == ["active", "1", "wd"], f"{fe}: {p.stdout}{p.stderr}"
        assert "resource-and-stonith" in p.stdout and "crm-fence-peer" in p.stdout \
            and "crm-unfence-peer" in p.stdout, f"{fe}: DRBD fencing not configured: {p.stdout}"
    have = vm.ssh(fes[0], "crm_attribute -t crm_config -n have-watchdog -G -q", timeout=30).stdout.strip()
    st = vm.crm(fes[0])
    fence = [r for r in st.iter("resource") if r.get("id") == "fence_sbd"]
    props = vm.ssh(fes[0], "crm_attribute -t crm_config -n priority-fencing-delay -G -q; "
                           "crm_attribute -t crm_config -n stonith-timeout -G -q", timeout=30).stdout.split()
    vm.fig("SBD", f"slots {slots}; have-watchdog {have}; fence_sbd "
           f"{[(r.get('role'), [n.get('name') for n in r.findall('node')]) for r in fence]}; "
           f"priority-fencing-delay/stonith-timeout {props}")
    assert have == "true"
    assert fence and fence[0].get("role") == "Started", "fence_sbd not started"
    STATE["sbd"] = True


def test_one_mounted_and_exported_on_primary(vm):
    _need("active")
    node = _active(vm)
    mnt = vm.topo.pillar["storage"]["drbd_aoe_lvm"]["one_mount"]
    p = vm.ssh(node, f"findmnt -n -o SOURCE,FSTYPE {mnt}")
    assert p.returncode == 0 and "drbd" in p.stdout, f"{mnt} not mounted from DRBD on {node}: {p.stdout}{p.stderr}"
    e = vm.ssh(node, "exportfs -v")
    assert mnt in e.stdout, f"{mnt} not exported on {node}: {e.stdout}{e.stderr}"
    vm.fig("one_mount", f"{p.stdout.strip()} on {node}; exported: {e.stdout.split()[0:2]}")


def test_vg_visible_through_aoe_on_hypervisor(vm):
    _need("active")
    hv = vm.topo.hypervisors[0]
    DA = vm.topo.pillar["storage"]["drbd_aoe_lvm"]
    dev = f"/dev/etherd/e{DA['aoe']['shelf']}.{DA['aoe']['slot']}"
    vg = DA["vg"]

    def seen():
        vm.ssh(hv, "aoe-discover", timeout=30)
        p = vm.ssh(hv, f"test -b {dev} && vgs --noheadings -o vg_name,pv_name 2>/dev/null", timeout=60)
        return p.stdout.strip() if vg in p.stdout else None

    out, secs = vm.wait_for(seen, 180, interval=3, what=f"VG {vg} on {dev} from {hv}")
    vm.fig("AoE + VG on the hypervisor", f"{out} ({secs}s)")
    STATE["aoe_dev"] = dev


# ------------------------------------------------------------------ data before the drills
def test_write_data_before_drills(vm):
    _need("active", "aoe_dev", "synced")
    node = _active(vm)
    hv = vm.topo.hypervisors[0]
    DA = vm.topo.pillar["storage"]["drbd_aoe_lvm"]
    mnt, vg = DA["one_mount"], DA["vg"]
    d = f"{mnt}/lab-e2e"
    vm.ssh(node, f"mkdir -p {d} && for i in 1 2 3; do head -c 2M /dev/urandom > {d}/f$i; done && "
                 f"echo {uuid.uuid4().hex} > {d}/marker && sync && cd {d} && sha256sum f1 f2 f3 marker",
           check=True, timeout=120)
    sums = vm.ssh(node, f"cd {d} && sha256sum f1 f2 f3 marker", check=True).stdout
    lv = f"/dev/{vg}/lab-e2e"
    vm.ssh(hv, f"lvs {vg}/lab-e2e >/dev/null 2>&1 || lvcreate -q -y -L 16M -n lab-e2e {vg}", check=True, timeout=120)
    lsum = vm.ssh(hv, f"head -c 8M /dev/urandom > /root/lv.bin && dd if=/root/lv.bin of={lv} bs=1M "
                      f"oflag=direct status=none && sync && dd if={lv} bs=1M count=8 iflag=direct status=none "
                      f"| sha256sum", check=True, timeout=180).stdout.split()[0]
    assert lsum == vm.ssh(hv, "sha256sum /root/lv.bin", check=True).stdout.split()[0]
    vm.ssh(hv, f"lvchange -an {vg}/lab-e2e", timeout=60)
    STATE.update(dir=d, sums=sums, lv=lv, lvsum=lsum)
    vm.fig("data written", f"4 files in {d} on {node}, 8 MiB into LV {lv} through AoE from {hv}")


def _files_intact(vm, host):
    p = vm.ssh(host, f"cd {STATE['dir']} && sha256sum f1 f2 f3 marker", timeout=60)
    return p.returncode == 0 and p.stdout == STATE["sums"]


def _lv_intact(vm):
    hv = vm.topo.hypervisors[0]
    vg = vm.topo.pillar["storage"]["drbd_aoe_lvm"]["vg"]
    vm.ssh(hv, "aoe-discover", timeout=30)
    p = vm.ssh(hv, f"lvchange -ay {vg}/lab-e2e && dd if={STATE['lv']} bs=1M count=8 iflag=direct status=none "
                   f"| sha256sum; lvchange -an {vg}/lab-e2e", timeout=120)
    return p.returncode == 0 and p.stdout.split()[:1] == [STATE["lvsum"]]


# ------------------------------------------------------------------ drill 1: crash
def test_crash_active_frontend_failover(vm):
    _need("active", "sums")
    active = _active(vm)
    survivor = _survivor_of(vm, active)
    c0 = vm.clock(survivor)
    t0 = time.monotonic()
    vm.crash(active)
    t_group = t_drbd = None
    # with SBD: the survivor fences the crashed node first (priority-fencing-delay + random
    # delay + msgwait), then promotes DRBD and starts the group
    limit = 600 if STATE.get("sbd") else 300
    while time.monotonic() - t0 < limit and (t_group is None or t_drbd is None):
        if t_drbd is None:
            st = vm.drbd(survivor)
            if st and all(v and v["role"] == "Primary" for v in st.values()):
                t_drbd = round(time.monotonic() - t0, 1)
        if t_group is None and vm.group_node(survivor) == survivor:
            t_group = round(time.monotonic() - t0, 1)
        time.sleep(1)
    vm.fig("failover (kill -9 of the active front-end's qemu)",
            f"DRBD Primary on {survivor} after {t_drbd}s, {GROUP} Started there after {t_group}s")
    STATE.update(crashed=active, survivor=survivor, failover_s=t_group)
    assert t_drbd is not None, f"DRBD not Primary on {survivor} within {limit}s: {vm.drbd(survivor)}"
    assert t_group is not None, f"{GROUP} not Started on {survivor} within {limit}s"
    if STATE.get("sbd"):
        fenced, promoted = vm.fenced_at(survivor, active, c0), vm.promoted_at(survivor, c0)
        vm.fig("crash: fenced / promoted (survivor's journal)",
               f"{round(fenced - c0, 1) if fenced else None}s / {round(promoted - c0, 1) if promoted else None}s")
        assert fenced is not None, f"{active} not fenced (survivor's journal)"
        assert promoted is not None and fenced <= promoted, "DRBD promoted on the survivor before the peer was fenced"
    assert _files_intact(vm, survivor), "files on /srv/cloud/one changed after failover"
    ok, secs = vm.wait_for(lambda: _lv_intact(vm), 180, interval=5, what="LV content through AoE after failover")
    vm.fig("data after failover", f"files + LV checksums intact (LV readable through AoE {secs}s after the group)")


def test_highstate_on_survivor_forces_nothing(vm):
    _need("crashed")
    survivor = STATE["survivor"]
    before = vm.drbd(survivor)
    secs, summ, raw = vm.highstate("survivor-alone", hosts=[survivor])
    after = vm.drbd(survivor)
    s = summ[survivor]
    drbd_changes = [sid for sid in s["changed"] if "drbd" in sid]
    vm.fig("highstate on the survivor, peer down", f"{secs}s; changes {s['changed']}; failed "
            f"{[f[0] for f in s['failed']]}; DRBD before {before} after {after}")
    assert not drbd_changes, f"DRBD states changed with the peer down: {drbd_changes}"
    assert before == after, f"DRBD state moved during the highstate: {before} -> {after}"
    assert _files_intact(vm, survivor)
    assert_highstate_ok(summ)
    assert not s["changed"], f"the highstate changed something with the peer fenced: {s['changed']}"


def test_crashed_frontend_rejoins_without_split_brain(vm):
    _need("crashed")
    crashed, survivor = STATE["crashed"], STATE["survivor"]
    boot_s = vm.boot(crashed)
    t0 = time.monotonic()
    vm.wait_for(lambda: vm.online(survivor) == sorted(vm.topo.frontends), 300, interval=3,
                what=f"{crashed} back online in the cluster")
    st, secs = vm.wait_for(lambda: vm.drbd_synced(survivor), 600, interval=2,
                           what="resync to UpToDate/UpToDate after the rejoin")
    sb = {h: vm.split_brain_logged(h) for h in vm.topo.frontends}
    vm.fig("rejoin", f"{crashed} ssh after {boot_s}s, resynced {round(time.monotonic() - t0, 1)}s later: "
            f"{st}; split-brain lines in dmesg {sb}")
    assert not any(sb.values()), f"split-brain logged: {sb}"
    assert vm.group_node(survivor) == survivor, "the group moved back (stickiness) or stopped"
    assert _files_intact(vm, survivor)
    # Pacemaker probed the rebooted node before DRBD ran there: no failed probe (the heartbeat
    # AoEtarget answered "not installed" and banned aoe_data there until a cleanup)
    st = vm.crm(survivor)
    fails = [dict(f.attrib) for f in st.iter("failure") if f.get("node") == crashed] if st is not None else None
    assert fails == [], f"failed operations on the rebooted {crashed}: {fails}"
    STATE["active"] = survivor


# ------------------------------------------------------------------ drill 2: replication link
def test_replication_link_cut_and_restore(vm):
    _need("active", "sums")
    primary = _active(vm)
    secondary = _survivor_of(vm, primary)
    vm.wait_for(lambda: vm.drbd_synced(primary), 600, interval=2, what="in sync before the cut")
    c0 = vm.clock(primary)
    t0 = time.monotonic()
    vm.link(secondary, "san", "down")
    try:
        st, secs = vm.wait_for(lambda: (lambda s: s if s and all(v["cs"] in ("WFConnection", "StandAlone",
                                                                             "NetworkFailure", "Unconnected")
                                                                 for v in s.values()) else None)(vm.drbd(primary)),
                               120, interval=1, what="primary sees the replication link down")
        vm.fig("replication link cut", f"primary {primary} sees {st} after {secs}s")
        if STATE.get("sbd"):
            # resource-and-stonith: DRBD freezes I/O on the primary until its crm-fence-peer
            # handler has forbidden promoting the outdated peer (the cluster still sees it on
            # lan: no node is fenced)
            cons, secs = vm.wait_for(lambda: vm.fence_constraints(primary), 180, interval=2,
                                     what="crm-fence-peer constraint during the cut")
            fence = vm.journal_first(primary, c0, "Operation '(reboot|off)' targeting")
            vm.fig("crm-fence-peer", f"{cons} placed {secs}s into the wait; a fence in the journal: {fence}")
            assert fence is None, "a node was fenced for a SAN-only cut"
        vm.ssh(primary, f"head -c 4M /dev/urandom > {STATE['dir']}/during-cut && sync && "
                        f"sha256sum {STATE['dir']}/during-cut > /root/during-cut.sha256", check=True, timeout=180)
        assert vm.group_node(primary) == primary, "the group moved while only the SAN link was cut"
    finally:
        vm.link(secondary, "san", "up")
    t1 = time.monotonic()
    st, secs = vm.wait_for(lambda: vm.drbd_synced(primary), 600, interval=2, what="resync after the link came back")
    sb = {h: vm.split_brain_logged(h) for h in vm.topo.frontends}
    vm.fig("replication link restored", f"resynced {secs}s after restore ({round(t1 - t0, 1)}s cut): "
            f"{st}; split-brain lines {sb}")
    assert not any(sb.values()), f"split-brain logged: {sb}"
    assert _files_intact(vm, primary)
    assert vm.ssh(primary, "sha256sum -c --quiet /root/during-cut.sha256").returncode == 0
    if STATE.get("sbd"):
        left, secs = vm.wait_for(lambda: (lambda c: c == [] or None)(vm.fence_constraints(primary)),
                                 120, interval=2, what="crm-unfence-peer removing the constraint after the resync")
        vm.fig("crm-unfence-peer", f"constraint removed {secs}s after the resync")


# ------------------------------------------------------------------ wrong initial primary
def test_wrong_node_force_primary_refused(vm):
    _need("active")
    primary = _active(vm)
    wrong = _survivor_of(vm, primary)
    res = vm.topo.drbd[0][0]
    before = vm.drbd(wrong)
    # the execution module directly: the data-safety rule refuses
    p = subprocess_salt(vm, wrong, ["drbd.primary", res, "force=True", f"initial_primary={wrong}", f"node={wrong}"])
    vm.fig("drbd.primary force on the wrong node", p.strip()[:400])
    assert "refusing forced promotion" in p, f"drbd.primary did not refuse: {p}"
    # the state with a pillar naming the wrong node: guarded, no change
    secs, summ, raw = vm.highstate("wrong-initial-primary", hosts=[wrong], sls="drbd",
                                   extra=[f'pillar={{"drbd": {{"initial_primary": "{wrong}"}}}}'])
    s = summ[wrong]
    vm.fig("drbd state with initial_primary = the wrong node", f"{secs}s; changed {s['changed']}; "
            f"failed {[f[0] for f in s['failed']]}")
    after = vm.drbd(wrong)
    assert before == after and all(v["role"] == "Secondary" for v in after.values()), f"{before} -> {after}"
    assert not [c for c in s["changed"] if "primary" in c], f"forced promotion state changed: {s['changed']}"


def subprocess_salt(vm, host, fun):
    """One salt-ssh execution-module call on a VM; returns stdout+stderr text."""
    import subprocess

    ctl = vm.ctl
    argv = ctl.ns(ctl.VENV / "bin" / "salt-ssh", "-c", ctl.SSH_CONF, f"--roster-file={ctl.SSH_CONF / 'roster'}",
                  host, *fun, "--no-color", "-l", "quiet")
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=900)
    return p.stdout + p.stderr


# ------------------------------------------------------------------ fencing drills (SBD)
def _start_writer(vm, host, name, chunks=60):
    """A background writer on host: chunks x 256 KiB files {dir}/{name}.N, each synced, its
    checksum appended to /root/{name}.sums only after the sync returned (= acknowledged)."""
    d = STATE["dir"]
    script = (f"for i in $(seq 1 {chunks}); do head -c 256K /dev/urandom > {d}/{name}.$i && "
              f"sync {d}/{name}.$i && sha256sum {d}/{name}.$i >> /root/{name}.sums; sleep 0.5; done; "
              f"echo done > /root/{name}.done")
    vm.ssh(host, f"rm -f /root/{name}.sums /root/{name}.done; "
                 f"setsid nohup sh -c '{script}' >/dev/null 2>&1 < /dev/null &", check=True, timeout=60)


def _writer_done(vm, host, name):
    return vm.ssh(host, f"test -f /root/{name}.done", timeout=20).returncode == 0


def _writer_intact(vm, host, name):
    """(files acknowledged, all of them intact on host)."""
    p = vm.ssh(host, f"wc -l < /root/{name}.sums; sha256sum -c --quiet /root/{name}.sums", timeout=120)
    lines = p.stdout.split()
    return (int(lines[0]) if lines and lines[0].isdigit() else 0), p.returncode == 0


def _running_on(st, node):
    """Resources crm_mon (as seen from one node) shows active on node."""
    if st is None:
        return []
    return sorted(r.get("id") for r in st.iter("resource") if r.get("active") == "true"
                  and node in [n.get("name") for n in r.findall("node")])


def _primaries(st):
    return [n for n, v in (st or {}).items() if v and v["role"] == "Primary"]


def test_split_brain_both_links_cut(vm):
    """Both links between the front-ends cut (every frame between them dropped on both
    bridges; the host and the hypervisor still reach both) while the primary writes: the
    node with the group fences the other (priority-fencing-delay), keeps the group; DRBD
    never has two primaries; then a highstate on the survivor changes nothing; the links
    come back, the fenced node rejoins and resyncs, no split-brain handler, no data lost."""
    _need("sbd", "active", "sums")
    primary = _active(vm)
    secondary = _survivor_of(vm, primary)
    vm.wait_for(lambda: vm.drbd_synced(primary), 600, interval=2, what="in sync before the split")
    boot_p, boot_s, boots = vm.boot_id(primary), vm.boot_id(secondary), vm.console_boots(secondary)
    _start_writer(vm, primary, "split")
    c0 = vm.clock(primary)
    t0 = time.monotonic()
    vm.partition(primary, secondary)
    t_fence = t_reboot = t_back = None
    seen_two_primaries, group_off = [], []
    try:
        while time.monotonic() - t0 < 900:
            now = round(time.monotonic() - t0, 1)
            if t_reboot is None and vm.console_boots(secondary) > boots:
                t_reboot = now
            if t_reboot is not None and t_back is None and vm.boot_id(secondary) not in (None, boot_s):
                t_back = now
            st = vm.crm(primary)  # None: crm_mon did not answer in time (a busy TCG guest)
            if st is not None and vm.check.group_node(st, GROUP) != primary:
                group_off.append((now, vm.check.group_node(st, GROUP)))
            if len(_primaries(vm.drbd(primary))) and _primaries(vm.drbd(secondary)):
                seen_two_primaries.append(now)
            if t_back is not None and now - t_back > 60 and _writer_done(vm, primary, "split"):
                break  # the fenced node booted and stayed out for a minute
            time.sleep(2)
        fenced = vm.fenced_at(primary, secondary, c0)
        t_fence = round(fenced - c0, 1) if fenced else None
        sec_state = vm.drbd(secondary)
        sec_res = _running_on(vm.crm(secondary), secondary)
        vm.fig("split brain (both links cut)",
               f"{secondary} fenced by {primary} after {t_fence}s, rebooted {t_reboot}s, ssh {t_back}s; "
               f"{GROUP} left {primary} at {group_off or 'never'}; two primaries at {seen_two_primaries or 'never'}; "
               f"{secondary} while cut: DRBD {sec_state}, started resources per its crm_mon {sec_res}")
        assert t_fence is not None, f"{secondary} not fenced (no fencer line in {primary}'s journal)"
        assert t_reboot is not None and t_back is not None, f"{secondary} did not reboot (fence by SBD)"
        assert vm.boot_id(primary) == boot_p, f"{primary} rebooted too: both sides fenced"
        assert not group_off, f"{GROUP} left {primary}"
        assert not seen_two_primaries, "DRBD had two primaries"
        assert not _primaries(sec_state), f"{secondary} DRBD Primary while cut off: {sec_state}"
        assert not sec_res, f"{secondary} runs resources while cut off (wait_for_all): {sec_res}"
        n, ok = _writer_intact(vm, primary, "split")
        assert ok and n == 60, f"writer during the split: {n} acknowledged, intact {ok}"
        # the survivor with its peer fenced and still cut off: a highstate changes nothing
        before = vm.drbd(primary)
        secs, summ, raw = vm.highstate("survivor-peer-fenced", hosts=[primary])
        s = summ[primary]
        vm.fig("highstate on the survivor, peer fenced and cut off",
               f"{secs}s; changes {s['changed']}; failed {[f[0] for f in s['failed']]}")
        assert_highstate_ok(summ)
        assert not s["changed"], f"changes with the peer fenced: {s['changed']}"
        assert vm.drbd(primary) == before
    finally:
        vm.partition(primary, secondary, on=False)
    t1 = time.monotonic()
    vm.wait_for(lambda: vm.online(primary) == sorted(vm.topo.frontends), 600, interval=3,
                what=f"{secondary} back in the cluster after the links returned")
    st, secs = vm.wait_for(lambda: vm.drbd_synced(primary), 600, interval=2, what="resync after the split")
    sb = {h: vm.split_brain_logged(h) for h in vm.topo.frontends}
    vm.fig("split healed", f"rejoined + resynced {round(time.monotonic() - t1, 1)}s after the links returned; "
           f"split-brain lines {sb}")
    assert not any(sb.values()), f"split-brain logged: {sb}"
    assert vm.group_node(primary) == primary
    assert _files_intact(vm, primary)
    assert _writer_intact(vm, primary, "split") == (60, True)
    vm.wait_for(lambda: (lambda c: c == [] or None)(vm.fence_constraints(primary)), 180, interval=3,
                what="crm-unfence-peer removing the constraint after the resync")


def test_hung_node_is_fenced(vm):
    """corosync SIGSTOPped on the primary (the node hangs for the cluster, its DRBD still
    runs): the peer fences it through SBD (it resets itself on the poison pill), then
    promotes DRBD and runs the group; data intact; the hung node reboots and rejoins."""
    _need("sbd", "active", "sums")
    hung = _active(vm)
    other = _survivor_of(vm, hung)
    vm.wait_for(lambda: vm.drbd_synced(hung), 600, interval=2, what="in sync before the hang")
    want = vm.ssh(hung, f"head -c 4M /dev/urandom > {STATE['dir']}/before-hang && sync && "
                        f"sha256sum {STATE['dir']}/before-hang", check=True, timeout=120).stdout.split()[0]
    boots = vm.console_boots(hung)
    pid = vm.ssh(hung, "systemctl show -p MainPID --value corosync", check=True).stdout.strip()
    assert pid.isdigit() and int(pid) > 1, pid
    c0 = vm.clock(other)
    t0 = time.monotonic()
    vm.ssh(hung, f"kill -STOP {pid}", check=True)
    t_reboot = t_drbd = t_group = None
    try:
        while time.monotonic() - t0 < 900 and t_group is None:
            now = round(time.monotonic() - t0, 1)
            if t_reboot is None and vm.console_boots(hung) > boots:
                t_reboot = now
            if t_drbd is None and (lambda s: s and len(_primaries(s)) == len(s))(vm.drbd(other)):
                t_drbd = now
            if t_group is None and vm.group_node(other) == other:
                t_group = now
            time.sleep(2)
    finally:
        if t_reboot is None and vm.console_boots(hung) <= boots:
            vm.ssh(hung, f"kill -CONT {pid}", timeout=20)  # not fenced: let the test fail cleanly
    fenced, promoted = vm.fenced_at(other, hung, c0), vm.promoted_at(other, c0)
    t_fence = round(fenced - c0, 1) if fenced else None
    vm.fig("hung node (corosync SIGSTOP)", f"{hung} fenced after {t_fence}s (its console: reset at "
           f"{t_reboot}s), DRBD Primary on {other} {round(promoted - c0, 1) if promoted else None}s, "
           f"{GROUP} Started there {t_group}s")
    assert t_fence is not None, f"{hung} not fenced (no fencer line in {other}'s journal)"
    assert t_group is not None and t_drbd is not None, f"{GROUP} not moved to {other}"
    assert promoted is not None and fenced <= promoted, "DRBD promoted before the hung node was fenced"
    assert _files_intact(vm, other)
    got = vm.ssh(other, f"sha256sum {STATE['dir']}/before-hang", timeout=60).stdout.split()[:1]
    assert got == [want], f"the file written before the hang differs on {other}: {got} != {want}"
    ok, secs = vm.wait_for(lambda: _lv_intact(vm), 180, interval=5, what="LV content through AoE after the hang")
    STATE.update(active=other)
    vm.wait_for(lambda: vm.online(other) == sorted(vm.topo.frontends), 600, interval=3,
                what=f"{hung} back in the cluster after its reboot")
    st, secs = vm.wait_for(lambda: vm.drbd_synced(other), 600, interval=2, what="resync after the hang")
    sb = {h: vm.split_brain_logged(h) for h in vm.topo.frontends}
    vm.fig("hung node rejoined", f"resynced {secs}s into the wait; split-brain lines {sb}")
    assert not any(sb.values()), f"split-brain logged: {sb}"
    assert vm.group_node(other) == other, "the group moved back (stickiness) or stopped"
    assert _files_intact(vm, other)


def test_sbd_disk_lost_cluster_runs_on(vm):
    """The SBD disk vanishes from both front-ends (its PCI device removed in each guest): with
    both nodes healthy and in touch, sbd's Pacemaker integration keeps them running (no
    reboot, no fence, the group stays), the loss shows (sbd's log, fence_sbd's failed
    monitor); the disk comes back (PCI rescan) and fence_sbd runs again after a cleanup."""
    _need("sbd", "active", "sums")
    node = _active(vm)
    fes = vm.topo.frontends
    S = vm.topo.pillar["pacemaker"]["stonith"]["sbd"]
    boots = {fe: vm.boot_id(fe) for fe in fes}
    c0 = vm.clock(node)
    pci = {}
    for fe in fes:
        p = vm.ssh(fe, f"readlink -f /sys/block/$(basename $(readlink -f {SBD_DEV}))/device/..", check=True)
        pci[fe] = p.stdout.strip()
        assert "/0000:00:" in pci[fe], pci
    t0 = time.monotonic()
    for fe in fes:
        vm.ssh(fe, f"date -u +%s > /root/sbd-lost.t; echo 1 > {pci[fe]}/remove; test ! -e {SBD_DEV}", check=True)
    try:
        # three msgwait periods: longer than any self-fence on a lost disk would take
        hold = 3 * S["msgwait_timeout"]
        changes = []
        while time.monotonic() - t0 < hold:
            now = round(time.monotonic() - t0, 1)
            cur = {fe: vm.boot_id(fe) for fe in fes}
            if cur != boots:
                changes.append((now, "reboot", cur))
            if vm.group_node(node) != node:
                changes.append((now, "group", vm.group_node(node)))
            time.sleep(5)
        warn = {fe: vm.ssh(fe, "journalctl -u sbd --since @$(cat /root/sbd-lost.t) --no-pager -o cat | "
                               "grep -iE 'lost|outdated|surviv|fail' | tail -3", timeout=60).stdout.strip()
                for fe in fes}
        failed = vm.ssh(node, "crm_mon -1 --include=failures --output-as=text | grep -i fence_sbd || true",
                        timeout=60).stdout.strip()
        fence = vm.journal_first(node, c0, "(Operation '(reboot|off)' targeting|will be fenced)")
        vm.fig("SBD disk lost", f"{hold}s without the disk: changes {changes or 'none'}; a fence in the "
               f"journal: {fence}; sbd says {warn}; crm_mon: {failed or '-'}")
        assert not changes, f"the cluster reacted to the lost SBD disk: {changes}"
        assert fence is None, "a node was fenced because the SBD disk was lost"
        assert any(warn.values()) or failed, "no warning visible for the lost SBD disk"
        assert _files_intact(vm, node)
    finally:
        for fe in fes:
            vm.ssh(fe, "echo 1 > /sys/bus/pci/rescan", timeout=60)
    for fe in fes:
        vm.wait_for(lambda fe=fe: vm.ssh(fe, f"test -b {SBD_DEV}", timeout=20).returncode == 0 or None,
                    120, interval=2, what=f"the SBD disk back on {fe}")
    vm.ssh(node, "crm_resource --cleanup --resource fence_sbd", timeout=120)
    started, secs = vm.wait_for(lambda: [r for r in vm.crm(node).iter("resource")
                                         if r.get("id") == "fence_sbd" and r.get("role") == "Started"
                                         and r.get("failed") == "false"] or None,
                                300, interval=5, what="fence_sbd Started again")
    assert sorted(vm.sbd_list(node, SBD_DEV) or {}) == sorted(fes)
    assert {fe: vm.boot_id(fe) for fe in fes} == boots


# ------------------------------------------------------------------ converged
def test_final_highstate_zero_changes(vm):
    vm_highstate_zero_changes(vm, STATE, "final")
