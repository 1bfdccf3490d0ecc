"""storage drbd_aoe_lvm + drbd states: which ids each role gets (real show_highstate), and
that mkfs / pvcreate / vgcreate only ever run where DRBD is Primary on a blank device.

The guards are proven by running the REAL SLS through `salt-call --local` with fake
drbdadm/drbdsetup/blkid/pvs/pvcreate/vgcreate first on PATH (the drbd execution module
calls them, for its states and for the SLS `onlyif` function guards): in test mode for the whole variant, and for
real (state.sls_id) for mkfs on a tmp image file (real mkfs.ext4 + real blkid) and for the
PV/VG creation (fake LVM tools that record what they were asked to do)."""
import json
import os
import pathlib
import shutil
import sys

import pytest

from conftest import deep_merge, require_tools
from render.test_render_matrix import matrix_pillar

pytestmark = [pytest.mark.render]

FAKE = r'''#!{python}
"""Fake DRBD/LVM/blkid tools for the drbd_aoe_lvm guard tests. State lives next to the
device image files: <dev>.sig = blkid TYPE, <dev>.vg = VG name of the PV; env FAKE_ROLE
(Primary|Secondary) is this node's DRBD role; every call is appended to $FAKE_LOG."""
import json, os, sys
tool = os.path.basename(sys.argv[0]); args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as fh:
    fh.write(json.dumps([tool] + args) + "\n")
role = os.environ.get("FAKE_ROLE", "Primary")
def read(p):
    return open(p).read().strip() if os.path.exists(p) else None
if tool == "drbdadm":
    a = [x for x in args if x not in ("-d",)]
    if "-c" in a:
        i = a.index("-c"); del a[i:i + 2]
    if a[:1] == ["--version"]:
        print("DRBDADM_VERSION=9.22.0\nDRBD_KERNEL_VERSION_CODE=0x090200\nDRBD_KERNEL_VERSION=9.2.0")
    elif a[:1] == ["role"]:
        print(role)
    elif a[:1] == ["get-gi"]:
        print("8C0E4F5B1D2A3C4E:0000000000000000:A1B2C3D4E5F60718:0000000000000000:1:1:1:1:0:0:0:0")
    sys.exit(0)
if tool == "drbdsetup":
    name = args[-1]
    print(json.dumps([{"name": name, "node-id": 0, "role": role, "devices": [
        {"volume": 0, "minor": 1, "disk-state": "UpToDate", "open": False, "quorum": True}],
        "connections": [{"name": "cloud-cc02", "peer-node-id": 1, "connection-state": "Connected",
                         "peer-role": "Secondary" if role == "Primary" else "Primary",
                         "peer_devices": [{"volume": 0, "peer-disk-state": "UpToDate",
                                           "replication-state": "Established",
                                           "percent-in-sync": 100.0, "out-of-sync": 0}]}]}]))
    sys.exit(0)
if tool == "blkid":
    dev = args[-1]
    sig = read(dev + ".sig")
    if sig is None:
        os.execv("/sbin/blkid", ["blkid"] + args)  # real blkid on the image file
    if "-s" in args:
        print(sig)
    elif "export" in args:
        print("DEVNAME=%s\nTYPE=%s" % (dev, sig))
    else:
        print('%s: TYPE="%s"' % (dev, sig))
    sys.exit(0)
if tool == "pvs":
    dev = args[-1]
    if read(dev + ".sig") != "LVM2_member":
        sys.exit(5)
    print("  " + (read(dev + ".vg") or ""))
    sys.exit(0)
if tool == "pvcreate":
    open(args[-1] + ".sig", "w").write("LVM2_member")
    sys.exit(0)
if tool == "vgcreate":
    open(args[-1] + ".vg", "w").write(args[0])
    sys.exit(0)
sys.exit(0)
'''
TOOLS = ["drbdadm", "drbdsetup", "blkid", "pvs", "pvcreate", "vgcreate"]


# ------------------------------------------------------------------------------ ids per role
# (the whole highstate per role is test_render_matrix's; here the variant's own SLS tree)
@pytest.fixture(scope="module")
def highstates(tmp_path_factory):
    from conftest import SaltCall

    out = {}
    for mid in ["cloud-cc01", "cloud-cc02", "cloud-01"]:
        sc = SaltCall(tmp_path_factory.mktemp(mid) / "salt")
        sc.configure(minion_id=mid, pillar=matrix_pillar("drbd_aoe_lvm", "pacemaker"))
        proc, data = sc.run("state.show_sls", "storage.drbd_aoe_lvm")
        out[mid] = data["local"]
    return out


def ids(high, prefix):
    return sorted(i for i in high if i.startswith(prefix))


def test_frontend_ids(highstates):
    for fe in ["cloud-cc01", "cloud-cc02"]:
        h = highstates[fe]
        for res in ["one-disk", "data-disk"]:
            assert f"drbd-config-resource-{res}" in h and f"drbd-resource-up-{res}" in h
        assert {"drbd-package-installed", "drbd-config-global-common", "drbd-service-disabled"} <= set(h)
        assert "drbd-service-enabled" not in h
        for sid in ["lvm-conf-devices", "lvm-conf-others-disabled", "lvm-cache-removed",
                    "lvm-initramfs-updated", "vblade-package", "vblade-service-disabled",
                    "vblade-wrapper", "nfs-package", "nfs-service-disabled", "one-mount-dir",
                    "idmapd-domain", "one-disk-mkfs", "data-disk-guard", "data-disk-vg-created",
                    "data-disk-vg-completed"]:
            assert "storage-drbd_aoe_lvm-" + sid in h, sid
        assert not ids(h, "storage-drbd_aoe_lvm-aoe-")  # initiator side is the hypervisors'
        # no fstab entry / mount state: Pacemaker mounts one_mount
        assert not [i for i, s in h.items() if "mount" in s and any(f in ("mounted",) for f in s["mount"] if isinstance(f, str))]
    # the forced first sync and the hand-over exist only on drbd:initial_primary
    assert ids(highstates["cloud-cc01"], "drbd-initial-primary-") == ["drbd-initial-primary-data-disk", "drbd-initial-primary-one-disk"]
    assert ids(highstates["cloud-cc01"], "storage-drbd_aoe_lvm-handoff-") == ["storage-drbd_aoe_lvm-handoff-data-disk", "storage-drbd_aoe_lvm-handoff-one-disk"]
    assert not ids(highstates["cloud-cc02"], "drbd-initial-primary-")
    assert not ids(highstates["cloud-cc02"], "storage-drbd_aoe_lvm-handoff-")


def test_hypervisor_ids(highstates):
    h = highstates["cloud-01"]
    assert not ids(h, "drbd-")
    assert {"storage-drbd_aoe_lvm-aoe-package", "storage-drbd_aoe_lvm-aoe-modules-load",
            "storage-drbd_aoe_lvm-aoe-module", "storage-drbd_aoe_lvm-aoe-discover"} <= set(h)
    assert not ids(h, "storage-drbd_aoe_lvm-vblade-") and not ids(h, "storage-drbd_aoe_lvm-one-disk-")


def _args(state):
    (fun_key,) = [k for k in state if not k.startswith("__")]
    out = {}
    for item in state[fun_key]:
        if isinstance(item, dict):
            out.update(item)
    return fun_key, [i for i in state[fun_key] if isinstance(i, str)], out


def test_every_command_and_creation_is_guarded(highstates):
    for mid, h in highstates.items():
        for sid, state in h.items():
            mod, funs, args = _args(state)
            assert mod != "cmd", f"{mid} {sid}: a shell command (argv.run is the no-shell form)"
            if mod == "argv":
                assert {"onlyif", "unless", "onchanges", "creates"} & set(args), f"{mid} {sid} unguarded"
            if mod == "drbd" and "primary" in funs:
                assert args.get("initial_only") is True, f"{mid} {sid} may compete with Pacemaker"
    h = highstates["cloud-cc01"]
    for sid in ["storage-drbd_aoe_lvm-one-disk-mkfs", "storage-drbd_aoe_lvm-data-disk-vg-created"]:
        _, _, args = _args(h[sid])
        funs_ = [g["fun"] for g in args["onlyif"]]
        assert funs_ == ["drbd.role_is_primary", "drbd.readable", "drbd.blank"], funs_
        assert args["onlyif"][0]["config"] == "/etc/drbd.conf"
    _, funs, args = _args(h["drbd-initial-primary-one-disk"])
    assert args["force"] is True and args["initial_primary"] == "cloud-cc01"
    assert args["initial_only"] is True
    _, funs, args = _args(h["storage-drbd_aoe_lvm-handoff-one-disk"])
    assert funs == ["secondary"] and args["onchanges"] == [{"drbd": "drbd-initial-primary-one-disk"}]
    _, _, args = _args(h["storage-drbd_aoe_lvm-data-disk-vg-created"])
    assert {"guard": "storage-drbd_aoe_lvm-data-disk-guard"} in args["require"]
    assert args["argv"] == ["pvcreate", "/dev/drbd2"]
    _, _, args = _args(h["storage-drbd_aoe_lvm-data-disk-vg-completed"])
    assert args["argv"] == ["vgcreate", "one-data", "/dev/drbd2"]
    assert args["onlyif"][-1] == {"fun": "drbd.is_unused_pv", "args": ["/dev/drbd2"]}
    _, _, args = _args(h["storage-drbd_aoe_lvm-data-disk-guard"])
    assert args["onlyif"][-1] == {"fun": "drbd.holds_foreign_data", "args": ["/dev/drbd2", "one-data"]}


# ------------------------------------------------------------------------------ guards at work
@pytest.fixture
def fakes(tmp_path, monkeypatch):
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    script = bindir / "fake.py"
    script.write_text(FAKE.replace("{python}", sys.executable))
    script.chmod(0o755)
    for t in TOOLS:
        (bindir / t).symlink_to(script)
    log = tmp_path / "fake.log"
    log.write_text("")
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_LOG", str(log))
    monkeypatch.setenv("FAKE_ROLE", "Primary")
    devs = {}
    for name in ["one", "data"]:
        img = tmp_path / f"{name}.img"
        with open(img, "wb") as fh:
            fh.truncate(16 * 1024 * 1024)
        devs[name] = img
    lvm = tmp_path / "lvm"
    lvm.mkdir()
    shutil.copy("/etc/lvm/lvm.conf", lvm / "lvm.conf") if os.path.exists("/etc/lvm/lvm.conf") else (lvm / "lvm.conf").write_text("devices {\n}\n")
    idmapd = tmp_path / "idmapd.conf"
    idmapd.write_text("[General]\n\nVerbosity = 0\n# Domain = localdomain\n\n[Mapping]\n\nNobody-User = nobody\n")
    pillar = deep_merge(matrix_pillar("drbd_aoe_lvm", "pacemaker"), {
        "drbd": {
            "resources": {"one-disk": {"device": str(devs["one"])}, "data-disk": {"device": str(devs["data"])}},
            "lookup": {"config_dir": str(tmp_path / "drbd.d"), "global_common": str(tmp_path / "drbd.d/global_common.conf"),
                       "drbd_conf": str(tmp_path / "drbd.conf")},
        },
        "storage": {
            "drbd_aoe_lvm": {"one_mount": str(tmp_path / "srv/cloud/one")},
            "lookup": {
                "lvm": {"conf": str(lvm / "lvm.conf")},
                "nfs": {"idmapd_conf": str(idmapd)},
                "drbd_aoe_lvm": {"lvm_cache": str(lvm / ".cache"), "update_initramfs": "true",
                                 "vblade_wrapper": str(tmp_path / "sbin/vblade-logged"),
                                 "vblade_log": str(tmp_path / "vblade.log"),
                                 "logrotate_dir": str(tmp_path / "logrotate.d")},
            },
        },
    })

    class F:
        pass

    f = F()
    f.devs, f.log, f.pillar = devs, log, pillar

    def calls(tool):
        return [json.loads(line)[1:] for line in log.read_text().splitlines() if json.loads(line)[0] == tool]

    f.calls = calls
    return f


def run(salt_call, pillar, *args, minion_id="cloud-cc01"):
    salt_call.configure(minion_id=minion_id, pillar=pillar)
    proc, data = salt_call.run(*args, check=False)
    assert isinstance(data, dict) and isinstance(data.get("local"), dict), proc.stdout[-3000:] + proc.stderr[-3000:]
    return {r["__id__"]: r for r in data["local"].values()}


def test_test_mode_primary_blank_devices_would_create(salt_call, fakes):
    ret = run(salt_call, fakes.pillar, "state.apply", "storage.drbd_aoe_lvm", "test=True")
    assert ret["storage-drbd_aoe_lvm-one-disk-mkfs"]["result"] is None
    assert ret["storage-drbd_aoe_lvm-data-disk-vg-created"]["result"] is None
    assert ret["storage-drbd_aoe_lvm-data-disk-guard"]["result"] is True
    assert ret["storage-drbd_aoe_lvm-data-disk-guard"]["comment"] == "onlyif condition is false"
    # already synced and Primary here (the fake): nothing to promote
    ip = ret["drbd-initial-primary-one-disk"]
    assert ip["result"] is True and not ip["changes"] and "already Primary" in ip["comment"]
    assert not ret["storage-drbd_aoe_lvm-handoff-one-disk"]["changes"]
    assert ret["drbd-resource-up-one-disk"]["result"] is True and not ret["drbd-resource-up-one-disk"]["changes"]
    assert not fakes.calls("pvcreate") and not fakes.calls("vgcreate")
    assert not [c for c in fakes.calls("drbdadm") if "primary" in c or "secondary" in c]


def test_test_mode_secondary_never_creates(salt_call, fakes, monkeypatch):
    monkeypatch.setenv("FAKE_ROLE", "Secondary")
    ret = run(salt_call, fakes.pillar, "state.apply", "storage.drbd_aoe_lvm", "test=True", minion_id="cloud-cc02")
    for sid in ["one-disk-mkfs", "data-disk-guard", "data-disk-vg-created", "data-disk-vg-completed"]:
        r = ret["storage-drbd_aoe_lvm-" + sid]
        assert r["result"] is True and not r["changes"] and r["comment"] == "onlyif condition is false", (sid, r)
    assert not fakes.calls("blkid")  # the role check comes first: a Secondary is never probed


@pytest.mark.parametrize("sig,vg,guard", [
    ("ext4", None, False),              # filesystem on the data disk: fail clearly
    ("LVM2_member", "other-vg", False),  # PV of another VG: fail clearly
    # our VG already / PV without VG: test_real_pv_vg_created_once_on_primary
])
def test_test_mode_data_disk_with_signature(salt_call, fakes, sig, vg, guard):
    data = fakes.devs["data"]
    pathlib.Path(str(data) + ".sig").write_text(sig)
    if vg is not None:
        pathlib.Path(str(data) + ".vg").write_text(vg)
    ret = run(salt_call, fakes.pillar, "state.apply", "storage.drbd_aoe_lvm", "test=True")
    g = ret["storage-drbd_aoe_lvm-data-disk-guard"]
    created = ret["storage-drbd_aoe_lvm-data-disk-vg-created"]
    completed = ret["storage-drbd_aoe_lvm-data-disk-vg-completed"]
    assert g["result"] is guard, g
    if not guard:
        assert "refusing to create PV/VG one-data" in g["comment"] or "would be a failure" in g["comment"]
        assert created["result"] is False and "requisite" in created["comment"].lower()
    else:
        assert created["result"] is True and created["comment"] == "onlyif condition is false"
        assert completed["result"] is (None if vg == "" else True)
    assert not fakes.calls("pvcreate") and not fakes.calls("vgcreate")


@require_tools("mkfs.ext4", "blkid")
def test_real_mkfs_only_on_blank_primary_then_idempotent(salt_call, fakes, monkeypatch):
    sid = "storage-drbd_aoe_lvm-one-disk-mkfs"
    one = fakes.devs["one"]  # (Secondary: test_test_mode_secondary_never_creates)
    ret = run(salt_call, fakes.pillar, "state.sls_id", sid, "storage.drbd_aoe_lvm.disks")
    assert ret[sid]["result"] is True and ret[sid]["changes"], ret[sid]
    import subprocess

    blk = subprocess.run(["blkid", "-p", "-s", "TYPE", "-o", "value", str(one)], capture_output=True, text=True, check=False)
    assert blk.stdout.strip() == "ext4"
    before = one.read_bytes()
    ret = run(salt_call, fakes.pillar, "state.sls_id", sid, "storage.drbd_aoe_lvm.disks")
    assert ret[sid]["result"] is True and not ret[sid]["changes"]
    assert ret[sid]["comment"] == "onlyif condition is false"
    assert one.read_bytes() == before  # an existing filesystem is never formatted again


def test_real_pv_vg_created_once_on_primary(salt_call, fakes):
    sid = "storage-drbd_aoe_lvm-data-disk-vg-completed"
    data = str(fakes.devs["data"])
    ret = run(salt_call, fakes.pillar, "state.sls_id", sid, "storage.drbd_aoe_lvm.disks")
    assert ret["storage-drbd_aoe_lvm-data-disk-vg-created"]["changes"], ret
    assert fakes.calls("pvcreate") == [[data]] and fakes.calls("vgcreate") == [["one-data", data]]
    ret = run(salt_call, fakes.pillar, "state.sls_id", sid, "storage.drbd_aoe_lvm.disks")
    assert all(not r["changes"] for r in ret.values()), ret
    assert len(fakes.calls("pvcreate")) == 1 and len(fakes.calls("vgcreate")) == 1
    # a run that stopped after pvcreate: only vgcreate follows
    pathlib.Path(data + ".vg").write_text("")
    ret = run(salt_call, fakes.pillar, "state.sls_id", sid, "storage.drbd_aoe_lvm.disks")
    assert ret[sid]["changes"] and len(fakes.calls("pvcreate")) == 1 and len(fakes.calls("vgcreate")) == 2
