"""Unit checks of the lab's package, lab/labkit: no root, no lab, run by `make test`.

The other files here are the lab's end-to-end checks (LAB=1, `make lab-test`); these check
the pieces they stand on without booting anything: topology from the lab pillars, the salt
command lines and the summary of their JSON, PID bookkeeping, the undo of a failed run, the
host life cycle both tiers share, the CLI's dispatch, and prereqs on the bare system python.
"""
import json
import os
import subprocess
import sys
from ipaddress import ip_address

import pytest
from labkit import cli, containers, core, hosts, saltrun, vmlab, vms

REPO = core.REPO


def test_prereqs_runs_on_the_system_python_alone():
    """`python3 -I` (no PYTHONPATH, no site-packages): prereqs and the package's __init__ are
    standard library only, so `make lab-check` works before .venv exists."""
    p = subprocess.run(["python3", "-I", str(REPO / "lab/labkit/prereqs.py"), "check", "--tier", "vm"],
                       capture_output=True, text=True)
    assert p.returncode in (0, 1), p.stderr
    assert "lab-check (vm)" in p.stdout
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import labkit.prereqs; "
            "print(sorted(m for m in sys.modules if m.startswith('labkit')))")
    p = subprocess.run(["python3", "-I", "-c", code, str(REPO / "lab")], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "['labkit', 'labkit.prereqs']"


@pytest.mark.parametrize("variant", sorted(containers.VARIANTS))
def test_container_topology_from_the_lab_pillar(variant):
    t = containers.Topo(variant)
    assert t.variant == variant
    assert t.hosts == t.frontends + t.hypervisors and t.frontends and t.hypervisors
    assert t.mgmt_net == "san" and t.master_ip == t.gw("san")
    assert all(ip_address(t.ip(h)) in t.networks["san"] for h in t.hosts)
    # the lab's own bridge ranges, whatever the variant
    assert {n: str(c) for n, c in t.networks.items()} == {"san": "10.236.11.0/24", "lan": "10.236.10.0/24"}
    if variant == "raft":
        assert len(t.frontends) == 3 and t.pillar["opennebula"]["ha"]["stack"] == "raft"


def test_container_variant_choice(tmp_path, monkeypatch):
    """Asked > on disk (.lab/variant) > VARIANT > moosefs; unknown names refused."""
    monkeypatch.setattr(containers, "VARIANT_FILE", tmp_path / "variant")
    monkeypatch.delenv("VARIANT", raising=False)
    assert containers.current_variant() == "moosefs"
    monkeypatch.setenv("VARIANT", "raft")
    assert containers.current_variant() == "raft"
    (tmp_path / "variant").write_text("moosefs\n")
    assert containers.current_variant() == "moosefs"
    assert containers.current_variant("raft") == "raft"
    with pytest.raises(SystemExit, match="the container tier runs moosefs, raft"):
        containers.current_variant("drbd_aoe_lvm")


@pytest.mark.parametrize("variant", vms.VARIANTS)
def test_vm_topology_nics(variant):
    t = vms.Topo(variant)
    assert t.hosts == t.frontends + t.storage_servers + t.hypervisors
    macs = [mac for h in t.hosts for _n, _e, mac, _t in t.nics(h)]
    taps = [tap for h in t.hosts for _n, _e, _m, tap in t.nics(h)]
    assert len(set(macs)) == len(macs) and len(set(taps)) == len(taps)
    assert all(len(tap) <= 15 for tap in taps)
    for h in t.hosts:
        assert t.nics(h)[0][:2] == ("san", "eth0")  # the kernel's net.ifnames=0 order


def test_vm_topology_drbd_disks():
    assert [name for name, _res in vms.Topo("drbd_aoe_lvm").drbd] == ["one-disk", "data-disk"]
    nfs = vms.Topo("nfs")
    assert nfs.drbd == [] and nfs.storage_servers == ["one-nfs1"]


def _opts(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_vm_sbd_hardware_off(monkeypatch):
    """LAB_VM_SBD=0 (or a lab pillar without SBD): no shared disk on any VM."""
    monkeypatch.setenv("LAB_VM_SBD", "0")
    t = vms.Topo("drbd_aoe_lvm")
    assert t.sbd is False
    for h in t.hosts:
        argv = [str(a) for a in vms.qemu_argv(t, h)]
        assert not any("id=sbd" in a or "serial=sbd0" in a or str(vms.sbd_disk()) in a
                       for a in argv), argv


def test_vm_sbd_follows_the_lab_pillar(monkeypatch):
    monkeypatch.delenv("LAB_VM_SBD", raising=False)
    assert vms.Topo("drbd_aoe_lvm").sbd is True   # the drbd_aoe_lvm lab runs SBD fencing
    assert vms.Topo("nfs").sbd is False


def test_vm_sbd_shared_disk_on_the_frontends_only(monkeypatch):
    monkeypatch.setenv("LAB_VM_SBD", "1")
    t = vms.Topo("drbd_aoe_lvm")
    assert t.sbd is True
    disk = str(vms.sbd_disk())
    for h in t.frontends:
        argv = [str(a) for a in vms.qemu_argv(t, h)]
        drives = _opts(argv, "-drive")
        # the per-VM disks keep their order (vda root, vdb/vdc DRBD, seed); the SBD disk sits
        # in the last PCI slot so that the guest names it last (found by its serial)
        assert [d.split(",")[0] for d in drives[:-1]] == [
            f"file={vms.hdir(h) / n}" for n in
            ("root.qcow2", "drbd-one-disk.raw", "drbd-data-disk.raw", "seed.img")]
        assert drives[-1] == f"file={disk},format=raw,if=none,id=sbd,file.locking=off"
        devices = _opts(argv, "-device")
        assert "virtio-blk-pci,drive=sbd,share-rw=on,serial=sbd0,addr=0x1f" in devices
    # one disk, the same file for every front-end; nothing on the hypervisor
    assert len({_opts([str(a) for a in vms.qemu_argv(t, h)], "-drive")[-1]
                for h in t.frontends}) == 1
    for h in t.hypervisors:
        argv = [str(a) for a in vms.qemu_argv(t, h)]
        assert disk not in " ".join(argv)


def test_vm_sbd_follows_the_lab_pillar_unless_forced():
    on = {"pacemaker": {"stonith": {"sbd": {"enabled": True}}}}
    assert vms.sbd_wanted(on, env="") is True
    assert vms.sbd_wanted(on, env="0") is False
    assert vms.sbd_wanted({}, env="") is False
    assert vms.sbd_wanted({}, env="1") is True
    assert vms.sbd_wanted({"pacemaker": {"stonith": {"sbd": {"enabled": "yes"}}}}, env="") is False


def test_state_fun_and_salt_ssh_argv(tmp_path):
    assert saltrun.state_fun() == ["state.apply"]
    assert saltrun.state_fun("drbd", True, {"a": 1}, ["x=1"]) == \
        ["state.sls", "drbd", "test=True", 'pillar={"a": 1}', "x=1"]
    d = core.Dirs(tmp_path)
    argv = saltrun.salt_ssh_argv(d, ["-L", "a,b"], ["state.apply"])
    assert argv[0].endswith("/bin/salt-ssh")
    assert argv[1:7] == ["-c", d.ssh_conf, f"--roster-file={d.ssh_conf / 'roster'}", "-L", "a,b", "state.apply"]
    assert "--out=json" in argv and "--static" not in argv  # one document per host as it returns


def test_summarize_and_timing():
    ret = {"h1": {"a": {"result": True, "changes": {}, "__run_num__": 1, "duration": 1000},
                  "b": {"result": False, "changes": {"x": 1}, "comment": "bad", "__run_num__": 0,
                        "duration": 500}},
           "h2": "Minion did not return"}
    s = saltrun.summarize(ret, ["h1", "h2", "h3"])
    assert s["h1"] == {"states": 2, "failed": [("b", "bad")], "changed": ["b"], "error": None,
                       "duration_s": 1.5}
    assert s["h2"]["error"] == "Minion did not return" and s["h3"]["error"] == "no return"
    assert not saltrun.ok(s) and saltrun.ok({"h1": dict(s["h1"], failed=[])})
    assert saltrun.timing(3.0, s)["changed"] == {"h1": 1, "h2": 0, "h3": 0}


def test_run_states_streams_one_document_per_host():
    """The json outputter's documents, one per host as it returns (closing brace in column 0)."""
    script = ("import json\nfor h in ('h1', 'h2'):\n"
              "    print(json.dumps({h: {'s': {'result': True, 'changes': {}, '__run_num__': 0}}}, indent=4))\n")
    lines = []
    secs, summ, raw = saltrun.run_states([sys.executable, "-c", script], ["h1", "h2"], "hs", 60, out=lines.append)
    assert set(raw) == {"h1", "h2"} and saltrun.ok(summ)
    assert [ln.split(" returned")[0] for ln in lines if " returned " in ln] == ["hs: h1", "hs: h2"]
    secs, summ, raw = saltrun.run_states([sys.executable, "-c", "import sys; sys.exit(3)"], ["h1"], "hs", 60,
                                         out=lines.append)
    assert raw == {} and summ["h1"]["error"].startswith("rc=3")


def test_pid_bookkeeping(tmp_path):
    p = subprocess.Popen(["sleep", "60"])
    f = tmp_path / "sleep.pid"
    core.record_pid(f, p.pid)
    assert core.recorded_pid(f) == p.pid
    core.stop_pid(p.pid, "sleep", grace=5)
    p.wait()
    assert core.recorded_pid(f) is None
    f.write_text(f"{os.getpid()} 1\n")  # this PID, another start time: another process
    assert core.recorded_pid(f) is None


def test_failed_run_undoes_newest_first(tmp_path):
    done = []
    undo = core.Undo(out=done.append)
    undo.add("first", lambda: done.append("1"))
    undo.add("second", lambda: done.append("2"))
    e = core.failed_run("lab", "the step", SystemExit("lab: it broke\ndetail"), undo, "do X",
                        tmp_path / "f.log")
    assert done == ["2", "1"]
    assert e.code == "lab: FAILED at the step: it broke; undone: second, first. do X"


def test_build_image_runs_the_one_builder(tmp_path, monkeypatch):
    """Both tiers build through lab/image/build.sh TIER with their LAB_DIR and the venv."""
    fake = tmp_path / "build.sh"
    fake.write_text('#!/bin/sh\necho "$1 $LAB_DIR $VENV $MIRROR" > "$LAB_DIR/args"\n[ "$1" = container ]\n')
    fake.chmod(0o755)
    monkeypatch.setattr(core, "IMAGE_BUILD", fake)
    monkeypatch.setattr(containers, "LAB", tmp_path)
    containers.build_base()
    assert (tmp_path / "args").read_text().split() == ["container", str(tmp_path), str(core.VENV), containers.MIRROR]
    monkeypatch.setattr(vms, "LAB", tmp_path)
    with pytest.raises(SystemExit, match="lab-vm: image build failed"):
        vms.build_image()
    assert (tmp_path / "args").read_text().split()[:2] == ["vm", str(tmp_path)]


def test_ssh_command():
    assert core.ssh_command("a", ["--", "ls", "-l"], ["a"]) == ["ls", "-l"]
    with pytest.raises(SystemExit, match="no host 'b'"):
        core.ssh_command("b", [], ["a"])


def test_hostset_boots_what_does_not_run(tmp_path):
    class Topo:
        hosts = ["a", "b", "c"]

    calls, lines = [], []
    steps = dict(pid=lambda n: 1 if n == "a" else None, has_state=lambda n: n == "b",
                 start=lambda topo, n: calls.append(("start", n)),
                 stop=lambda n, purge=False, signalled=False: calls.append(("stop", n)),
                 wait=lambda topo, names, t0, timeout=180: {n: 2.0 for n in names},
                 known_hosts=lambda topo: calls.append(("known_hosts",)), crash=None, ssh_argv=None)
    hs = hosts.HostSet("VM", lines.append, tmp_path / "t.json", topo=Topo, need_root=lambda: None,
                       steps=steps)
    undo = core.Undo()
    assert hs.up(Topo(), undo) == (["b", "c"], ["b"])
    assert calls == [("start", "b"), ("start", "c"), ("known_hosts",)]
    assert json.loads((tmp_path / "t.json").read_text())["boot_s"] == 2.0
    assert any("reusing running VMs a" in ln for ln in lines)
    undo.run()
    assert calls[-2:] == [("stop", "c"), ("stop", "b")]


def test_cli_dispatch(monkeypatch):
    seen = {}
    monkeypatch.setattr(containers, "up", lambda **kw: seen.update(kw) or 0)
    assert cli.main(["container", "up", "--method", "master", "--no-apply"]) == 0
    assert seen == {"method": "master", "no_apply": True, "variant": None}
    assert cli.main(["container", "up", "--variant", "raft"]) == 0 and seen["variant"] == "raft"
    monkeypatch.setattr(vms, "reapply", lambda **kw: seen.update(kw) or 0)
    cli.main(["vm", "apply", "--hosts", "a,b", "--sls", "drbd"])
    assert seen["hosts"] == ["a", "b"] and seen["sls"] == "drbd"
    with pytest.raises(SystemExit):
        cli.main(["container", "link", "a", "san", "down"])  # a VM-tier command only


def test_parse_proc_drbd():
    text = ("version: 8.4.11\n"
            " 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n"
            " 1: cs:WFConnection ro:Secondary/Unknown ds:UpToDate/DUnknown C r-----\n")
    got = vmlab.parse_proc_drbd(text)
    assert got[0] == {"cs": "Connected", "role": "Primary", "peer_role": "Secondary",
                      "disk": "UpToDate", "peer_disk": "UpToDate"}
    assert got[1]["cs"] == "WFConnection" and got[1]["peer_disk"] == "DUnknown"


def test_fileroot_farm(tmp_path):
    saltrun.fileroot(tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"opennebula", "test", "_modules"} <= names
    assert not names & {"lab", "bench", ".lab", ".venv", ".git"}
    assert all((tmp_path / n).resolve() == REPO / n for n in names)


def _journal(name):
    path = REPO / "test" / "fixtures" / "pacemaker" / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_failover_timeline_from_a_real_survivor_journal():
    """The survivor's corosync + pacemaker-controld journal (`journalctl -o json`) of the VM
    lab's crash drill (SBD fencing on): the membership, the loss, the fence, then each promote
    and start in order, each with its own begin/end; earlier lines (before t0) are ignored,
    probes, monitors and notifies are not steps."""
    from labkit import checks
    recs = _journal("journal-crash-survivor.json")
    membership = next(int(r["__REALTIME_TIMESTAMP"]) for r in recs
                      if "A new membership" in r["MESSAGE"] and "Members left" in r["MESSAGE"])
    t0 = membership / 1e6 - 2.0
    tl = checks.parse_timeline(recs, t0)
    assert (tl["membership"], tl["lost"], tl["fenced"]) == (2.0, 2.14, 143.56)
    assert [(op["rsc"], op["op"]) for op in tl["ops"]] == [
        ("drbd_one", "promote"), ("drbd_data", "promote"), ("san_ip", "start"),
        ("lan_ip", "start"), ("fs_one", "start"), ("nfs_server", "start"), ("nfs_one", "start"),
        ("aoe_data", "start"), ("OpenNebula", "start"), ("lighttpd", "start")]
    assert all(op["result"] == "ok" and op["end"] > op["begin"] for op in tl["ops"])
    assert (tl["ops"][0]["begin"], tl["ops"][-1]["end"]) == (160.6, 321.35)
    lines = checks.format_timeline(tl)
    assert lines[0] == "token missed -s, membership formed 2.00s, peer lost 2.14s, peer fenced 143.56s"
    assert lines[-1].startswith("peer lost -> last step done 319.21s: 106.43s in the agents")
    # from a later t0: the rejoin's membership (572.7 s after t0), no step whose start is
    # not in the window (lighttpd's result alone is no step)
    later = checks.parse_timeline(recs, t0 + 300)
    assert later["membership"] == 272.72 and later["lost"] is None and later["ops"] == []


def test_failover_timeline_tolerates_missing_and_odd_records():
    from labkit import checks
    recs = [{"MESSAGE": "notice: Result of start operation for x on n: ok"},  # no timestamp
            {"__REALTIME_TIMESTAMP": "2000000", "MESSAGE": ["bytes", "array"]},
            {"__REALTIME_TIMESTAMP": "3000000",
             "MESSAGE": "notice: Requesting local execution of start operation for vip on n"}]
    tl = checks.parse_timeline(recs, 1.0)
    assert tl["ops"] == [{"rsc": "vip", "op": "start", "begin": 2.0, "end": None, "result": None}]
    assert checks.format_timeline(tl)[1] == "vip start: 2.00 -> -s (-s, no result; -s after the previous step)"


def test_slowest_states_from_a_salt_return():
    from labkit import checks
    raw = {"fe1": {"return": {
        "a|-x|-x|-run": {"__id__": "x", "__sls__": "s1", "duration": 1500.5},
        "b|-y|-y|-run": {"__id__": "y", "__sls__": "s2", "duration": 20},
        "c|-z|-z|-run": {"__id__": "z", "__sls__": "s2"}}}}
    assert checks.slowest_states(raw, "fe1", n=2) == [(1.5, "x", "s1"), (0.02, "y", "s2")]
    assert checks.slowest_states(raw, "fe2") == [] and checks.slowest_states(None, "fe1") == []
