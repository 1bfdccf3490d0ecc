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
  7. final highstate: zero changes everywhere
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
    t0 = time.monotonic()
    vm.crash(active)
    t_group = t_drbd = None
    while time.monotonic() - t0 < 300 and (t_group is None or t_drbd is None):
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
    assert t_drbd is not None, f"DRBD not Primary on {survivor} within 300s: {vm.drbd(survivor)}"
    assert t_group is not None, f"{GROUP} not Started on {survivor} within 300s"
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
    STATE["active"] = survivor


# ------------------------------------------------------------------ drill 2: replication link
def test_replication_link_cut_and_restore(vm):
    _need("active", "sums")
    primary = _active(vm)
    secondary = _survivor_of(vm, primary)
    vm.wait_for(lambda: vm.drbd_synced(primary), 600, interval=2, what="in sync before the cut")
    t0 = time.monotonic()
    vm.link(secondary, "san", "down")
    try:
        st, secs = vm.wait_for(lambda: (lambda s: s if s and all(v["cs"] in ("WFConnection", "StandAlone",
                                                                             "NetworkFailure", "Unconnected")
                                                                 for v in s.values()) else None)(vm.drbd(primary)),
                               120, interval=1, what="primary sees the replication link down")
        vm.fig("replication link cut", f"primary {primary} sees {st} after {secs}s")
        vm.ssh(primary, f"head -c 4M /dev/urandom > {STATE['dir']}/during-cut && sync && "
                        f"sha256sum {STATE['dir']}/during-cut > /root/during-cut.sha256", check=True, timeout=120)
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


# ------------------------------------------------------------------ converged
def test_final_highstate_zero_changes(vm):
    vm_highstate_zero_changes(vm, STATE, "final")
