"""storage.moosefs (the storage-architectures guide) against the real MooseFS daemons.

The REAL storage.moosefs states are applied by `salt-call --local` with lookup overrides
(conf_dir, data_dir, fstab in a private directory; no package/service states), then the
real `mfsmaster` and `mfschunkserver` are started on those very files inside a network
namespace this test creates (veth pair with the pillar's storage addresses; MooseFS refuses
127.0.0.1 chunkservers) and the datastores are mounted through /dev/fuse by the state's own
fstab line (mount.moosefs). Checks:
  * mfsmaster loads mfsmaster.cfg, the exports and the metadata created from the empty
    template, listens on the master's storage address; the chunkserver registers;
  * metadata.mfs is created once: a second apply (stopped master: checksum, mtime) and an
    apply while the master runs (only metadata.mfs.back exists then) create nothing;
  * a data dir with changelogs/backups but no metadata fails the run, creates nothing;
  * client: mounted, goal set once via mfssetgoal, root owned by oneadmin; second apply of
    the whole storage.moosefs: zero changes.
"""
import hashlib
import os
import pathlib
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import VENV_BIN, deep_merge, example_pillar, require_tools

pytestmark = [
    require_tools("mfsmaster", "mfschunkserver", "mfsmount", "mfsgetgoal", "ip", "nsenter", "mountpoint"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, FUSE mount)"),
    pytest.mark.skipif(not os.path.exists("/dev/fuse"), reason="needs /dev/fuse"),
]

MASTER, MASTER_IP = "cloud-cc01", "192.168.100.11"
CHUNK, CHUNK_IP = "cloud-01", "192.168.100.31"
GOAL = 1  # MooseFS' own default is 2: 1 proves the state sets it


def _run(cmd, check=True, timeout=60):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} rc={proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def netns():
    name = f"mfst{os.getpid()}"
    _run(["ip", "netns", "add", name])
    try:
        for cmd in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "add", "mfsv0", "type", "veth", "peer", "name", "mfsv1"],
            ["ip", "addr", "add", f"{MASTER_IP}/24", "dev", "mfsv0"],
            ["ip", "addr", "add", f"{CHUNK_IP}/24", "dev", "mfsv1"],
            ["ip", "link", "set", "mfsv0", "up"],
            ["ip", "link", "set", "mfsv1", "up"],
        ):
            _run(["ip", "netns", "exec", name, *cmd])
        yield name
    finally:
        pids = _run(["ip", "netns", "pids", name], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 15)
            except (ProcessLookupError, ValueError):
                pass
        deadline = time.time() + 10
        while pids and time.time() < deadline:
            pids = _run(["ip", "netns", "pids", name], check=False).stdout.split()
            time.sleep(0.2)
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except (ProcessLookupError, ValueError):
                pass
        _run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def base():
    """A private directory the `mfs` user can traverse (pytest's tmp_path is 0700 root)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="onehaformula-mfs-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        mnt = path / "datastores"
        if _run(["mountpoint", "-q", str(mnt)], check=False).returncode == 0:
            _run(["umount", str(mnt)], check=False)
            if _run(["mountpoint", "-q", str(mnt)], check=False).returncode == 0:
                _run(["umount", "-l", str(mnt)], check=False)
        shutil.rmtree(path, ignore_errors=True)


def node_pillar(base, node, mount=False):
    p = example_pillar()
    root = base / node
    (root / "etc").mkdir(parents=True, exist_ok=True)
    (root / "fstab").touch()
    return deep_merge(p, {
        "storage": {
            "variant": "moosefs",
            "datastores_path": str(base / "datastores"),
            "moosefs": {"goal": GOAL, "hdds": [str(root / "hdd")]},
            "lookup": {"moosefs": {
                "conf_dir": str(root / "etc"),
                "data_dir": str(root / "data"),
                "fstab": str(root / "fstab"),
                "manage_packages": False,
                "manage_services": False,
                "mount": mount,
            }},
        },
    })


def apply(salt_call, sls, netns=None, test=False):
    """state.apply through the real salt-call; optionally inside the test's network namespace
    (net only: the FUSE mount lands in this mount namespace, where the next apply sees it)."""
    cmd = [str(VENV_BIN / "salt-call"), "--local", f"--config-dir={salt_call.root_dir / 'conf'}",
           "--out=json", "--log-level=quiet", "state.apply", sls, *(["test=True"] if test else [])]
    if netns:
        cmd = ["nsenter", f"--net=/run/netns/{netns}", *cmd]
    proc = _run(cmd, check=False, timeout=300)
    import json

    data = json.loads(proc.stdout) if proc.stdout.strip() else None
    assert data and isinstance(data.get("local"), dict), proc.stdout[-3000:] + proc.stderr[-3000:]
    return {sid.split("_|-")[1]: res for sid, res in data["local"].items()}


def changed(results):
    return sorted(sid for sid, r in results.items() if r["changes"])


def failed(results):
    return {sid: r["comment"] for sid, r in results.items() if r["result"] is not True}


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mfs(netns, binary, cfg, action):
    return _run(["nsenter", f"--net=/run/netns/{netns}", binary, "-c", str(cfg), action], check=False)


def test_master_chunkserver_mount_goal(salt_call, tmp_path, netns, base):
    from conftest import SaltCall

    master = salt_call
    master.configure(minion_id=MASTER, pillar=node_pillar(base, MASTER))
    mroot = base / MASTER
    data = mroot / "data"

    # 0. test mode: the metadata would be created, nothing is
    res = apply(master, "storage.moosefs.master", test=True)
    meta_ret = res["storage-moosefs-master-metadata"]
    assert meta_ret["result"] is None and meta_ret["changes"]["old"] is None, meta_ret
    assert not (data / "metadata.mfs").exists()

    # 1. master config + metadata from the empty template
    res = apply(master, "storage.moosefs.master")
    assert not failed(res), failed(res)
    assert res["storage-moosefs-master-metadata"]["changes"] == {
        "old": None, "new": {"metadata.mfs": "empty file system (copy of /var/lib/mfs/metadata.mfs.empty)"}}
    meta = data / "metadata.mfs"
    assert meta.read_bytes() == pathlib.Path("/var/lib/mfs/metadata.mfs.empty").read_bytes()
    assert meta.stat().st_uid == pwd.getpwnam("mfs").pw_uid
    assert meta.stat().st_mode & 0o777 == 0o640 and not (data / "metadata.mfs.salt-new").exists()
    cfg = (mroot / "etc" / "mfsmaster.cfg").read_text()
    assert f"MATOCL_LISTEN_HOST = {MASTER_IP}" in cfg and f"DATA_PATH = {data}" in cfg
    assert "192.168.100.0/24\t/\trw,alldirs,maproot=0" in (mroot / "etc" / "mfsexports.cfg").read_text()
    digest, mtime = sha(meta), meta.stat().st_mtime_ns

    # 2. second apply, master stopped: nothing changes, metadata untouched
    res = apply(master, "storage.moosefs.master")
    assert not failed(res) and changed(res) == [], changed(res)
    assert sha(meta) == digest and meta.stat().st_mtime_ns == mtime

    # 3. the real mfsmaster parses our files
    out = mfs(netns, "mfsmaster", mroot / "etc" / "mfsmaster.cfg", "start")
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    for line in ("exports file has been loaded", "metadata file has been loaded",
                 f"listen on {MASTER_IP}:9421", "mfsmaster daemon initialized properly"):
        assert line in log, log

    # 4. running master: metadata.mfs was renamed to metadata.mfs.back; no new metadata.mfs
    assert not meta.exists() and (data / "metadata.mfs.back").exists()
    res = apply(master, "storage.moosefs.master")
    assert not failed(res) and changed(res) == [], changed(res)
    assert not meta.exists()

    # 5. a chunkserver (its own minion, own dirs) registers with the master
    chunk = SaltCall(tmp_path / "salt-chunk")
    chunk.configure(minion_id=CHUNK, pillar=node_pillar(base, CHUNK))
    res = apply(chunk, "storage.moosefs.chunkserver")
    assert not failed(res), failed(res)
    croot = base / CHUNK
    assert (croot / "hdd").stat().st_uid == pwd.getpwnam("mfs").pw_uid
    ccfg = (croot / "etc" / "mfschunkserver.cfg").read_text()
    assert f"MASTER_HOST = {MASTER_IP}" in ccfg and f"BIND_HOST = {CHUNK_IP}" in ccfg
    out = mfs(netns, "mfschunkserver", croot / "etc" / "mfschunkserver.cfg", "start")
    assert out.returncode == 0 and f"listen on {CHUNK_IP}:9422" in out.stdout + out.stderr, out

    # 6. the whole storage.moosefs on the master's node: fstab, mount, goal, owner
    master.configure(minion_id=MASTER, pillar=node_pillar(base, MASTER, mount=True))
    res = apply(master, "storage.moosefs", netns=netns)
    assert not failed(res), failed(res)
    assert {"storage-moosefs-client-fstab", "storage-moosefs-client-mounted",
            "storage-moosefs-client-goal", "storage-moosefs-client-owner"} <= set(changed(res)), changed(res)
    mnt = base / "datastores"
    fstab = (mroot / "fstab").read_text().split()
    assert fstab == [f"{MASTER_IP}:9421:/", str(mnt), "moosefs", "rw,_netdev,mfsdelayedinit", "0", "0"]
    assert _run(["mountpoint", "-q", str(mnt)], check=False).returncode == 0
    # MooseFS tools talk to the master named in the mount's .masterinfo: from the netns
    goal = _run(["nsenter", f"--net=/run/netns/{netns}", "mfsgetgoal", str(mnt)]).stdout.strip()
    assert goal == f"{mnt}: {GOAL}"
    assert (mnt.stat().st_uid, mnt.stat().st_gid) == (1001, 1001)
    (mnt / "probe").write_text("x")  # a real write through the chunkserver path
    assert (mnt / "probe").read_text() == "x"

    # 7. second highstate of the variant: zero changes
    res = apply(master, "storage.moosefs", netns=netns)
    assert not failed(res) and changed(res) == [], changed(res)
    assert not meta.exists()


def test_metadata_recovery_refused(salt_call, base):
    """Backups/changelogs but no metadata.mfs(.back): fail, never create an empty FS."""
    salt_call.configure(minion_id=MASTER, pillar=node_pillar(base, MASTER))
    data = base / MASTER / "data"
    data.mkdir(parents=True)
    (data / "changelog.0.mfs").write_text("1: 1|SESSION():1\n")
    (data / "metadata.mfs.back.1").write_bytes(b"MFSM 2.0")
    for test in (True, False):
        res = apply(salt_call, "storage.moosefs.master", test=test)
        refused = res["storage-moosefs-master-metadata"]
        assert refused["result"] is False and refused["changes"] == {}, refused
        assert "mfsmaster -a" in refused["comment"] and "changelog.0.mfs" in refused["comment"]
        assert not (data / "metadata.mfs").exists()

