"""_modules/drbd.py with Salt's dunders mocked; every command answered by a scripted host
(test/fixtures/drbd/fakehost.py) from real /proc/drbd, drbdsetup --json, drbdadm dump-xml,
get-gi and blkid outputs (test/fixtures/drbd/README.md says where each comes from).

Data-safety rules: every test named ``test_rule_*`` pins one rule of the module docstring.
"""
import importlib.util
import pathlib

import pytest
from salt.exceptions import CommandExecutionError

from conftest import UTILS, load_ext

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "drbd"


def _load_fakehost():
    spec = importlib.util.spec_from_file_location("onehatest_drbd_fakehost", FIX / "fakehost.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fh = _load_fakehost()
fixture = fh.fixture
drbd = load_ext("modules", "drbd")

PROC_9 = "version: 9.2.5 (api:2/proto:86-122)\nGIT-hash: 0\nTransports (api:18): tcp (9.2.5)\n"
GI_FRESH = fixture("get_gi_84_fresh.txt")
GI_HISTORY = fixture("get_gi_84_synced_history.txt")


@pytest.fixture
def host():
    return fh.FakeHost()


@pytest.fixture
def grains():
    return {"id": "cloud-cc01", "nodename": "cloud-cc01", "host": "cloud-cc01"}


@pytest.fixture
def configure_loader_modules(host, grains):
    return {drbd: {"__salt__": {"cmd.run_all": host.run_all}, "__grains__": grains,
                   "__context__": {}, "__opts__": {"test": False}, "__utils__": UTILS}}


@pytest.fixture(autouse=True)
def _files(monkeypatch, host):
    fh.install(monkeypatch, drbd, host)


def seed84(host, proc="proc_drbd_84_initial_inconsistent.txt", gi=GI_FRESH):
    """The Pacemaker/DRBD guide on the 8.4 module: one-disk (minor 1) up, data-disk (minor 2)
    not up."""
    host.major = "8.4"
    host.proc = fixture(proc) if proc.endswith(".txt") else proc
    host.dump_xml = fixture("dump_xml_84_seed.xml")
    host.gi = {"one-disk": gi, "data-disk": gi}
    return host


def lab84(host, proc, gi=GI_FRESH, grains=None):
    """The qemu lab's r0 (minor 0, node1/node2) on the 8.4 module."""
    host.major = "8.4"
    host.proc = fixture(proc) if proc.endswith(".txt") else proc
    host.dump_xml = fixture("dump_xml_84_lab_r0.xml")
    host.gi = {"r0": gi}
    if grains is not None:
        grains.update({"id": "node1", "nodename": "node1", "host": "node1"})
    return host


def seed9(host, status="status_json_9_initial_inconsistent.json", gi=None):
    host.major = "9"
    host.proc = PROC_9
    host.dump_xml = fixture("dump_xml_9_seed.xml")
    host.status_json = fixture(status) if status else None
    gi = gi if gi is not None else fixture("get_gi_9_fresh.txt")
    host.gi = {"one-disk": gi, "data-disk": gi}
    return host


# =============================================================================== parsers
def test_parse_proc_drbd_syncsource_real_84():
    p = drbd.parse_proc_drbd(fixture("proc_drbd_84_syncsource.txt"))
    assert p["version"] == "8.4.10"
    assert p["minors"] == {0: {"cs": "SyncSource", "ro": ("Primary", "Secondary"),
                               "ds": ("UpToDate", "Inconsistent"), "protocol": "C",
                               "oos": 9770652, "sync_percent": 6.9}}


def test_parse_proc_drbd_standalone_has_no_protocol():
    p = drbd.parse_proc_drbd(fixture("proc_drbd_84_standalone_secondary.txt"))
    assert p["minors"][0]["cs"] == "StandAlone"
    assert p["minors"][0]["protocol"] is None
    assert p["minors"][0]["ds"] == ("UpToDate", "DUnknown")


def test_parse_gi_fresh_and_history():
    fresh = drbd.parse_gi(GI_FRESH)
    assert fresh["current"] == 4 and fresh["bitmap"] == 0 and fresh["history"] == [0, 0]
    assert fresh["flags"] == [0, 0, 0, 0, 0, 0, 0]
    assert drbd.gi_has_history(fresh) is False
    assert drbd.gi_has_history(drbd.parse_gi(fixture("get_gi_9_fresh.txt"))) is False
    hist = drbd.parse_gi(GI_HISTORY)
    assert hist["current"] == 0x0E0052B97E996EAA
    assert hist["bitmap"] == 0x977BAF16F06E14DC
    assert drbd.gi_has_history(hist) is True
    # the primary bit (lowest) of a just-created UUID is not history
    assert drbd.gi_has_history(drbd.parse_gi(
        "0000000000000005:0000000000000000:0000000000000000:0000000000000000:1:0:1:0:0:0:0")) is False
    assert drbd.parse_gi("No valid meta data found") is None


def test_parse_blkid_export_real_ext4_and_lvm():
    ext4 = drbd.parse_blkid_export(fixture("blkid_ext4.txt"))
    assert ext4["TYPE"] == "ext4" and ext4["LABEL"] == "onedata"
    lvm = drbd.parse_blkid_export(fixture("blkid_lvm_pv.txt"))
    assert lvm["TYPE"] == "LVM2_member" and lvm["VERSION"] == "LVM2 001"


# =============================================================================== version
def test_version_from_proc_drbd_84(host):
    seed84(host)
    assert drbd.version() == {"kernel": "8.4.11", "utils": "9.22.0", "major": "8.4"}


def test_version_from_proc_drbd_9(host):
    seed9(host)
    assert drbd.version()["major"] == "9"
    assert drbd.version()["kernel"] == "9.2.5"


def test_version_without_module_loaded(host):
    host.proc = None
    assert drbd.version() == {"kernel": None, "utils": "9.22.0", "major": None}


# =============================================================================== config
def test_dump_config_seed_84(host):
    seed84(host)
    conf = drbd.dump_config()
    assert host.calls[-1] == ["drbdadm", "dump-xml", "all"]
    one = conf["resources"]["one-disk"]
    assert one["hosts"]["cloud-cc01"]["address"] == "192.168.100.11"
    assert one["hosts"]["cloud-cc02"]["port"] == 7788
    assert one["hosts"]["cloud-cc01"]["volumes"][0] == {
        "device": "/dev/drbd1", "minor": 1, "disk": "/dev/sda5",
        "meta_disk": "/dev/sda3", "meta_index": 0}
    assert conf["resources"]["data-disk"]["hosts"]["cloud-cc02"]["volumes"][0]["meta_index"] == 1
    assert conf["common"]["disk"]["resync-rate"] == "500M"
    assert conf["common"]["disk"]["fencing"] == "resource-only"
    assert conf["common"]["handlers"]["fence-peer"] == "/usr/lib/drbd/crm-fence-peer.sh"
    assert conf["global"] == {"disable-ip-verification": True}


def test_dump_config_seed_9_with_config_file(host):
    seed9(host)
    conf = drbd.dump_config(name="data-disk", config="/tmp/x/drbd.conf")
    assert host.calls[-1] == ["drbdadm", "-c", "/tmp/x/drbd.conf", "dump-xml", "data-disk"]
    data = conf["resources"]["data-disk"]
    # drbdadm 9.22 dump-xml does not print node-id (dump does): not asserted
    assert data["hosts"]["cloud-cc02"]["volumes"][0]["minor"] == 2
    assert conf["common"]["net"]["fencing"] == "resource-only"
    assert conf["common"]["options"]["quorum"] == "off"
    assert data["connections"][0]["cloud-cc01"] == {
        "address": "192.168.100.11", "port": 7789, "family": "ipv4"}


def test_dump_config_single_resource_has_no_config_wrapper(host):
    seed84(host)
    host.dump_xml = fixture("dump_xml_84_one_resource.xml")
    conf = drbd.dump_config(name="one-disk")
    assert host.calls[-1] == ["drbdadm", "dump-xml", "one-disk"]
    assert list(conf["resources"]) == ["one-disk"]
    assert conf["resources"]["one-disk"]["hosts"]["cloud-cc02"]["volumes"][0]["meta_index"] == 0
    assert conf["common"] == {} and conf["file"] is None


def test_dump_config_is_cached_in_context(host):
    seed84(host)
    drbd.dump_config()
    drbd.dump_config()
    assert [c for c in host.calls if "dump-xml" in c] == [["drbdadm", "dump-xml", "all"]]


# =============================================================================== status 8.4
def test_status_84_initial_inconsistent_seed(host):
    seed84(host)
    st = drbd.status()
    assert list(st) == ["one-disk"]  # data-disk (minor 2) is not in /proc/drbd: not up
    one = st["one-disk"]
    assert one["role"] == "Secondary"
    assert one["volumes"] == {0: {"minor": 1, "device": "/dev/drbd1", "disk": "Inconsistent"}}
    peer = one["peers"]["cloud-cc02"]
    assert peer["connection"] == "Connected" and peer["role"] == "Secondary"
    assert peer["volumes"][0]["disk"] == "Inconsistent"
    assert peer["volumes"][0]["replication"] == "Established"
    assert peer["volumes"][0]["out_of_sync_kib"] == 41941724
    assert drbd.is_synced(one) is False
    assert not any(c[0] == "drbdsetup" for c in host.calls)


@pytest.mark.parametrize("proc,role,disk,conn,cstate,peer_role,peer_disk,repl,pct", [
    ("proc_drbd_84_connected_primary.txt", "Primary", "UpToDate", "Connected", "Connected",
     "Secondary", "UpToDate", "Established", 100.0),
    ("proc_drbd_84_wfconnection_secondary.txt", "Secondary", "UpToDate", "WFConnection",
     "WFConnection", "Unknown", "DUnknown", "Off", None),
    ("proc_drbd_84_standalone_secondary.txt", "Secondary", "UpToDate", "StandAlone",
     "StandAlone", "Unknown", "DUnknown", "Off", None),
    ("proc_drbd_84_wfconnection_primary.txt", "Primary", "UpToDate", "WFConnection",
     "WFConnection", "Unknown", "DUnknown", "Off", None),
    ("proc_drbd_84_synctarget.txt", "Secondary", "Inconsistent", "Connected", "SyncTarget",
     "Primary", "UpToDate", "SyncTarget", 3.1),
    ("proc_drbd_84_syncsource.txt", "Primary", "UpToDate", "Connected", "SyncSource",
     "Secondary", "Inconsistent", "SyncSource", 6.9),
    ("proc_drbd_84_outdated_standalone.txt", "Secondary", "Outdated", "StandAlone",
     "StandAlone", "Unknown", "DUnknown", "Off", None),
    ("proc_drbd_84_diskless.txt", "Secondary", "Diskless", "Connected", "Connected",
     "Primary", "UpToDate", "Established", None),
])
def test_status_84_states(host, grains, proc, role, disk, conn, cstate, peer_role, peer_disk,
                          repl, pct):
    lab84(host, proc, grains=grains)
    r0 = drbd.status("r0")["r0"]
    assert r0["role"] == role
    assert r0["volumes"][0]["disk"] == disk and r0["volumes"][0]["minor"] == 0
    peer = r0["peers"]["node2"]
    assert (peer["connection"], peer["cstate"], peer["role"]) == (conn, cstate, peer_role)
    assert peer["volumes"][0]["disk"] == peer_disk
    assert peer["volumes"][0]["replication"] == repl
    assert peer["volumes"][0]["sync_percent"] == pct
    assert drbd.is_synced(r0) is (proc == "proc_drbd_84_connected_primary.txt")


def test_status_84_unconfigured_minor_is_not_up(host, grains):
    lab84(host, "proc_drbd_84_unconfigured.txt", grains=grains)
    assert drbd.status("r0") == {}


def test_status_is_cached_until_refresh(host):
    seed84(host)
    drbd.status()
    host.set_role_84("Primary")
    assert drbd.status()["one-disk"]["role"] == "Secondary"
    assert drbd.status(refresh=True)["one-disk"]["role"] == "Primary"


# =============================================================================== status 9
def test_status_9_real_primary_uptodate(host):
    host.major, host.proc = "9", PROC_9
    host.status_json = fixture("status_json_9_primary_uptodate.json")
    st = drbd.status()
    assert ["drbdsetup", "status", "--json", "all"] in host.calls
    r = st["1-single-0"]
    assert r["role"] == "Primary" and r["node_id"] == 1
    assert r["volumes"][0] == {"minor": 2, "device": "/dev/drbd2", "disk": "UpToDate",
                               "open": None, "quorum": True}
    peer = r["peers"]["SLE15-sp1-gm-drbd1145296-node2"]
    assert peer["connection"] == "Connected" and peer["role"] == "Secondary"
    assert peer["volumes"][0] == {"disk": "UpToDate", "replication": "Established",
                                  "sync_percent": 100.0, "out_of_sync_kib": 0}
    assert drbd.is_synced(r) is True


def test_status_9_syncsource_uses_percent_resync_done(host):
    seed9(host, "status_json_9_syncsource.json")
    one = drbd.status("one-disk")["one-disk"]
    pv = one["peers"]["cloud-cc02"]["volumes"][0]
    assert pv["replication"] == "SyncSource" and pv["sync_percent"] == 3.35
    assert drbd.is_synced(one) is False
    assert ["drbdsetup", "status", "--json", "one-disk"] in host.calls


def test_status_9_resource_not_up_rc10(host):
    seed9(host, status=None)
    assert drbd.status("one-disk") == {}


# =============================================================================== rule 1
def test_rule_create_md_refused_when_backing_device_has_filesystem(host):
    seed84(host, gi=None)
    host.blkid = {"/dev/sda5": fixture("blkid_ext4.txt")}
    with pytest.raises(CommandExecutionError) as exc:
        drbd.create_md("one-disk")
    msg = str(exc.value)
    assert "backing device /dev/sda5 of resource one-disk volume 0 carries ext4" in msg
    assert "LABEL=onedata" in msg and "wipe_backing_device" in msg
    assert host.mutations() == []


def test_rule_create_md_refused_when_backing_device_has_lvm_signature(host):
    seed84(host, gi=None)
    host.blkid = {"/dev/sda6": fixture("blkid_lvm_pv.txt")}
    with pytest.raises(CommandExecutionError, match="/dev/sda6 .* carries LVM2_member"):
        drbd.create_md("data-disk")
    assert host.mutations() == []


def test_rule_create_md_refused_when_drbd_metadata_exists(host):
    seed84(host, gi=GI_HISTORY)
    with pytest.raises(CommandExecutionError, match="already has DRBD metadata"):
        drbd.create_md("one-disk")
    assert ["drbdadm", "get-gi", "one-disk"] in host.calls
    assert host.mutations() == []


def test_rule_create_md_refused_when_indexed_meta_disk_has_filesystem(host):
    seed84(host, gi=None)
    host.blkid = {"/dev/sda3": fixture("blkid_ext4.txt")}
    with pytest.raises(CommandExecutionError, match="meta-disk /dev/sda3 of resource one-disk"):
        drbd.create_md("one-disk")
    assert host.mutations() == []


def test_rule_create_md_ignores_drbd_signature_on_meta_disk(host):
    seed84(host, gi=None)
    host.blkid = {"/dev/sda3": fixture("blkid_drbd_internal_md.txt")}
    assert drbd.create_md_problems("one-disk") == []


def test_rule_create_md_refused_when_blkid_is_ambivalent(host):
    seed84(host, gi=None)
    host.blkid = {"/dev/sda5": "x"}
    orig = host.run_all

    def ambivalent(argv, **kw):
        if argv[0] == "blkid" and argv[-1] == "/dev/sda5":
            host.calls.append(argv)
            return fh.res("", retcode=8)
        return orig(argv, **kw)
    drbd.__salt__["cmd.run_all"] = ambivalent
    with pytest.raises(CommandExecutionError, match="carries ambivalent"):
        drbd.create_md("one-disk")


def test_rule_create_md_allowed_on_blank_device(host):
    seed84(host, gi=None)
    assert drbd.create_md("one-disk") is True
    assert ["blkid", "-p", "-o", "export", "/dev/sda5"] in host.calls
    assert ["blkid", "-p", "-o", "export", "/dev/sda3"] in host.calls
    assert host.mutations() == [["drbdadm", "create-md", "--force", "one-disk"]]


def test_rule_create_md_wipe_backing_device_overrides(host):
    seed84(host, gi=GI_HISTORY)
    host.blkid = {"/dev/sda5": fixture("blkid_ext4.txt")}
    assert drbd.create_md("one-disk", wipe_backing_device=True) is True
    assert host.mutations() == [["wipefs", "--all", "/dev/sda5"],
                                ["drbdadm", "create-md", "--force", "one-disk"]]


def test_has_metadata_true_false_and_error(host):
    seed84(host, gi=None)
    assert drbd.has_metadata("one-disk") is False
    host.gi["one-disk"] = GI_FRESH
    assert drbd.has_metadata("one-disk") is True
    orig = host.run_all

    def broken(argv, **kw):
        if "get-gi" in argv:
            return fh.res("", retcode=20, stderr="open(/dev/sda5) failed: No such file or "
                          "directory\nCommand 'drbdmeta 1 v08 /dev/sda5 /dev/sda3 0 get-gi' "
                          "terminated with exit code 20\n")
        return orig(argv, **kw)
    drbd.__salt__["cmd.run_all"] = broken
    with pytest.raises(CommandExecutionError, match=r"rc=20.*open\(/dev/sda5\) failed"):
        drbd.has_metadata("one-disk")


# =============================================================================== rule 2
def test_rule_force_primary_allowed_for_initial_sync_on_84(host):
    seed84(host)
    assert drbd.primary("one-disk", force=True, initial_primary="cloud-cc01") is True
    assert host.mutations() == [["drbdadm", "--", "--overwrite-data-of-peer", "primary",
                                 "one-disk"]]


def test_rule_force_primary_uses_force_flag_on_drbd9(host):
    seed9(host)
    assert drbd.primary("one-disk", force=True, initial_primary="cloud-cc01") is True
    assert host.mutations() == [["drbdadm", "primary", "--force", "one-disk"]]


def test_rule_force_primary_refused_without_initial_primary(host):
    seed84(host)
    with pytest.raises(CommandExecutionError, match="needs initial_primary=<minion id>"):
        drbd.primary("one-disk", force=True)
    assert host.mutations() == []


def test_rule_force_primary_refused_when_node_is_not_initial_primary(host):
    seed84(host)
    with pytest.raises(CommandExecutionError,
                       match="this node is cloud-cc01, but initial_primary is cloud-cc02"):
        drbd.primary("one-disk", force=True, initial_primary="cloud-cc02")
    assert host.mutations() == []


def test_rule_force_primary_node_argument_overrides_grain(host):
    seed84(host)
    drbd.primary("one-disk", force=True, initial_primary="cc01", node="cc01")
    assert host.mutations()[0][-1] == "one-disk"


def test_rule_force_primary_refused_when_peer_disk_uptodate(host, grains):
    # real 8.4.11 SyncTarget: local Inconsistent, peer UpToDate
    lab84(host, "proc_drbd_84_synctarget.txt", gi=GI_HISTORY, grains=grains)
    with pytest.raises(CommandExecutionError) as exc:
        drbd.primary("r0", force=True, initial_primary="node1")
    assert "peer node2 volume 0 is UpToDate" in str(exc.value)
    assert host.mutations() == []


def test_rule_force_primary_refused_when_local_disk_outdated(host, grains):
    lab84(host, "proc_drbd_84_outdated_standalone.txt", gi=GI_HISTORY, grains=grains)
    with pytest.raises(CommandExecutionError, match="local disk of volume 0 is Outdated"):
        drbd.primary("r0", force=True, initial_primary="node1")
    assert host.mutations() == []


def test_rule_force_primary_refused_when_local_disk_outdated_drbd9(host):
    seed9(host, "status_json_9_peer_unknown_outdated.json", gi=GI_HISTORY)
    with pytest.raises(CommandExecutionError) as exc:
        drbd.primary("one-disk", force=True, initial_primary="cloud-cc01")
    msg = str(exc.value)
    assert "local disk of volume 0 is Outdated" in msg
    assert "peer state is unknown" in msg
    assert host.mutations() == []


def test_rule_force_primary_refused_when_local_disk_diskless(host, grains):
    lab84(host, "proc_drbd_84_diskless.txt", grains=grains)
    with pytest.raises(CommandExecutionError, match="local disk of volume 0 is Diskless"):
        drbd.primary("r0", force=True, initial_primary="node1")
    assert host.mutations() == []


# both nodes created, peer never came up: the real initial line with the peer gone
_INCON_PEER_UNKNOWN = fixture("proc_drbd_84_initial_inconsistent.txt").replace(
    "cs:Connected ro:Secondary/Secondary ds:Inconsistent/Inconsistent C",
    "cs:WFConnection ro:Secondary/Unknown ds:Inconsistent/DUnknown C")


def test_rule_force_primary_refused_when_peer_unknown_and_resource_synced_before(host):
    seed84(host, proc=_INCON_PEER_UNKNOWN, gi=GI_HISTORY)
    with pytest.raises(CommandExecutionError) as exc:
        drbd.primary("one-disk", force=True, initial_primary="cloud-cc01")
    msg = str(exc.value)
    assert "peer state is unknown (not Connected / DUnknown)" in msg
    assert "0E0052B97E996EAA" in msg
    assert host.mutations() == []


def test_rule_force_primary_allowed_when_peer_unknown_but_never_synced(host):
    seed84(host, proc=_INCON_PEER_UNKNOWN, gi=GI_FRESH)
    drbd.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert host.mutations() == [["drbdadm", "--", "--overwrite-data-of-peer", "primary",
                                 "one-disk"]]


def test_rule_force_primary_refused_when_gi_shows_history(host):
    seed84(host, gi=GI_HISTORY)  # both Inconsistent and Connected, but synced before
    with pytest.raises(CommandExecutionError, match="generation identifiers show history"):
        drbd.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert host.mutations() == []


def test_rule_force_primary_refused_when_local_already_uptodate(host, grains):
    lab84(host, "proc_drbd_84_standalone_secondary.txt", gi=GI_HISTORY, grains=grains)
    with pytest.raises(CommandExecutionError, match="already UpToDate: no forced promotion"):
        drbd.primary("r0", force=True, initial_primary="node1")


def test_plain_primary_runs_no_safety_reads(host):
    seed84(host)
    drbd.primary("one-disk")
    assert host.calls == [["drbdadm", "primary", "one-disk"]]


# =============================================================================== rule 3
def test_rule_secondary_refused_when_mounted(host):
    seed84(host)
    host.proc = fixture("proc_drbd_84_connected_primary.txt").replace(" 0: cs:", " 1: cs:")
    host.mounts = ("/dev/sda1 / ext4 rw,relatime 0 0\n"
                   "/dev/drbd1 /srv/cloud/one ext4 rw,relatime 0 0\n")
    with pytest.raises(CommandExecutionError) as exc:
        drbd.secondary("one-disk")
    assert str(exc.value) == ("refusing to demote one-disk: /dev/drbd1 mounted on "
                              "/srv/cloud/one (ext4)")
    assert host.mutations() == []


def test_rule_secondary_refused_when_mounted_via_by_res_symlink(host):
    seed84(host)
    host.proc = fixture("proc_drbd_84_connected_primary.txt").replace(" 0: cs:", " 1: cs:")
    host.mounts = "/dev/drbd/by-res/one-disk /srv/cloud/one ext4 rw 0 0\n"
    with pytest.raises(CommandExecutionError,
                       match="/dev/drbd/by-res/one-disk mounted on /srv/cloud/one"):
        drbd.secondary("one-disk")
    assert host.mutations() == []


def test_rule_secondary_refused_when_mount_source_resolves_to_device(host):
    seed84(host)
    host.proc = fixture("proc_drbd_84_connected_primary.txt").replace(" 0: cs:", " 1: cs:")
    host.mounts = "/dev/disk/by-uuid/6f1c /srv/cloud/one ext4 rw 0 0\n"
    host.symlinks = {"/dev/disk/by-uuid/6f1c": "/dev/drbd1"}
    with pytest.raises(CommandExecutionError, match="by-uuid/6f1c mounted on /srv/cloud/one"):
        drbd.secondary("one-disk")


def test_rule_secondary_refused_when_lvm_holder(host):
    seed84(host)
    # data-disk (minor 2) Primary, VG one-data on top (the Pacemaker/DRBD guide:
    # vgcreate one-data /dev/drbd2)
    host.proc = fixture("proc_drbd_84_connected_primary.txt").replace(" 0: cs:", " 2: cs:")
    host.holders = {2: ["dm-3", "dm-4"]}
    host.dm_names = {"dm-3": "one--data-lv--one--7", "dm-4": "one--data-lv--one--8"}
    with pytest.raises(CommandExecutionError) as exc:
        drbd.secondary("data-disk")
    assert str(exc.value) == (
        "refusing to demote data-disk: /dev/drbd2 held by dm-3 (one--data-lv--one--7); "
        "/dev/drbd2 held by dm-4 (one--data-lv--one--8)")
    assert host.mutations() == []


def test_rule_secondary_refused_when_drbd9_reports_open(host):
    seed9(host, "status_json_9_syncsource.json")
    host.status_json = host.status_json.replace('"client": false,', '"client": false,\n'
                                                '      "open": true,', 1)
    with pytest.raises(CommandExecutionError, match="/dev/drbd1 is open"):
        drbd.secondary("one-disk")
    assert host.mutations() == []


def test_rule_down_refused_when_mounted(host):
    seed84(host)
    host.proc = fixture("proc_drbd_84_connected_primary.txt").replace(" 0: cs:", " 1: cs:")
    host.mounts = "/dev/drbd1 /srv/cloud/one ext4 rw 0 0\n"
    with pytest.raises(CommandExecutionError, match="refusing to take one-disk down"):
        drbd.down("one-disk")
    assert host.mutations() == []


def test_rule_secondary_allowed_when_unused(host):
    seed84(host)
    host.proc = fixture("proc_drbd_84_connected_primary.txt").replace(" 0: cs:", " 1: cs:")
    host.mounts = "/dev/drbd10 /mnt ext4 rw 0 0\n/dev/sda1 / ext4 rw 0 0\n"
    assert drbd.secondary("one-disk") is True
    assert host.mutations() == [["drbdadm", "secondary", "one-disk"]]


# =============================================================================== lifecycle
def test_up_down_adjust_argv(host):
    seed84(host)
    host.mounts = ""
    drbd.up("one-disk", config="/etc/drbd.conf")
    drbd.adjust("one-disk")
    drbd.down("data-disk")
    assert host.mutations() == [["drbdadm", "-c", "/etc/drbd.conf", "up", "one-disk"],
                                ["drbdadm", "adjust", "one-disk"],
                                ["drbdadm", "down", "data-disk"]]


def test_adjust_pending_lists_dry_run_commands(host):
    seed84(host)
    host.adjust_pending = ("drbdsetup-84 disk-options 1 --set-defaults --resync-rate=500M\n"
                           "\n")
    assert drbd.adjust_pending("one-disk") == [
        "drbdsetup-84 disk-options 1 --set-defaults --resync-rate=500M"]
    assert ["drbdadm", "-d", "adjust", "one-disk"] in host.calls


def test_command_failure_raises_clear_error(host):
    seed84(host)

    def fail(argv, **kw):
        return fh.res("", retcode=11, stderr="sh: 1: modinfo: not found\n1: State change "
                      "failed: (-2) Need access to UpToDate data\n")
    drbd.__salt__["cmd.run_all"] = fail
    with pytest.raises(CommandExecutionError) as exc:
        drbd.primary("one-disk")
    assert str(exc.value) == ("drbdadm primary one-disk failed (rc=11): 1: State change "
                              "failed: (-2) Need access to UpToDate data")


# =============================================================================== wait_synced
@pytest.fixture
def clock(monkeypatch):
    state = {"t": 0.0, "sleeps": []}

    def sleep(s):
        state["sleeps"].append(s)
        state["t"] += s
    monkeypatch.setattr(drbd, "_sleep", sleep)
    monkeypatch.setattr(drbd, "_now", lambda: state["t"])
    return state


def test_wait_synced_returns_at_once_when_synced(host, grains, clock):
    lab84(host, "proc_drbd_84_connected_primary.txt", grains=grains)
    res = drbd.wait_synced("r0", timeout=30)
    assert res["peers"]["node2"]["volumes"][0]["disk"] == "UpToDate"
    assert clock["sleeps"] == []


def test_wait_synced_polls_until_uptodate(host, grains, clock, monkeypatch):
    lab84(host, "proc_drbd_84_syncsource.txt", grains=grains)
    done = fixture("proc_drbd_84_connected_primary.txt")

    def sleep(s):
        clock["sleeps"].append(s)
        clock["t"] += s
        if len(clock["sleeps"]) == 2:
            host.proc = done
    monkeypatch.setattr(drbd, "_sleep", sleep)
    res = drbd.wait_synced("r0", timeout=30, interval=5)
    assert drbd.is_synced(res)
    assert clock["sleeps"] == [5, 5]


def test_wait_synced_is_bounded(host, grains, clock):
    lab84(host, "proc_drbd_84_synctarget.txt", grains=grains)
    with pytest.raises(CommandExecutionError) as exc:
        drbd.wait_synced("r0", timeout=10, interval=3)
    assert "not synced after 10s" in str(exc.value)
    assert "SyncTarget 3.1%" in str(exc.value)
    assert clock["sleeps"] == [3, 3, 3, 3]


def test_wait_synced_fails_fast_when_standalone(host, grains, clock):
    lab84(host, "proc_drbd_84_standalone_secondary.txt", grains=grains)
    with pytest.raises(CommandExecutionError, match="StandAlone"):
        drbd.wait_synced("r0", timeout=600)
    assert clock["sleeps"] == []


def test_virtual_needs_drbdadm(monkeypatch):
    monkeypatch.setattr(drbd.salt.utils.path, "which", lambda b: None)
    assert drbd.__virtual__() == (False, "drbd: drbdadm (drbd-utils) is not on PATH")
    monkeypatch.setattr(drbd.salt.utils.path, "which", lambda b: "/usr/sbin/drbdadm")
    assert drbd.__virtual__() == "drbd"


# ------------------------------------------------------------- device guards (storage SLS)
def _with_pvs(host, answers):
    """host.run_all plus `pvs --noheadings -o vg_name DEV`: answers[dev] = (stdout, rc)."""
    inner = host.run_all

    def run_all(argv, python_shell=None, **kwargs):
        if argv[0] == "pvs":
            assert python_shell is False and argv[1:4] == ["--noheadings", "-o", "vg_name"]
            out, rc = answers[argv[-1]]
            return {"retcode": rc, "stdout": out, "stderr": "" if rc == 0 else
                    '  Failed to find physical volume "{}".\n'.format(argv[-1])}
        if argv[0] == "drbdadm" and "role" in argv:
            return {"retcode": 0, "stdout": host.role_out, "stderr": ""}
        return inner(argv, python_shell=python_shell, **kwargs)
    return run_all


@pytest.mark.parametrize("out,expected", [("Primary/Secondary\n", True), ("Primary\n", True),
                                          ("Secondary/Primary\n", False), ("Secondary\n", False)])
def test_role_is_primary_84_and_9(host, out, expected):
    host.role_out = out
    drbd.__salt__["cmd.run_all"] = _with_pvs(host, {})
    assert drbd.role_is_primary("one-disk", config="/etc/drbd.conf") is expected


@pytest.mark.parametrize("blkid,pvs,foreign,unused", [
    ("", None, False, False),                                  # blank
    ("blkid_ext4.txt", None, True, False),                     # a filesystem
    ("blkid_lvm_pv.txt", ("  \n", 0), False, True),            # PV in no VG
    ("blkid_lvm_pv.txt", ("  one-data\n", 0), False, False),   # PV of our VG
    ("blkid_lvm_pv.txt", ("  other-vg\n", 0), True, False),    # PV of another VG
    ("blkid_lvm_pv.txt", ("", 5), True, False),                # pvs cannot read it
    ("ambivalent", None, True, False),                         # blkid rc 8
])
def test_foreign_data_and_unused_pv(host, blkid, pvs, foreign, unused):
    dev = "/dev/drbd2"
    if blkid == "ambivalent":
        drbd.__salt__["cmd.run_all"] = lambda argv, **kw: (
            {"retcode": 8, "stdout": "", "stderr": ""} if argv[0] == "blkid" else None)
    else:
        host.blkid[dev] = fixture(blkid) if blkid else ""
        drbd.__salt__["cmd.run_all"] = _with_pvs(host, {dev: pvs} if pvs else {})
    assert drbd.holds_foreign_data(dev, "one-data") is foreign
    assert drbd.is_unused_pv(dev) is unused
    assert drbd.blank(dev) is (blkid == "")


# ------------------------------------------------------------- pure logic (_utils/ohaf_drbd)
# The module's reads feed these; called directly here with the captured outputs.
def test_util_parse_version_from_proc_drbd_or_drbdadm():
    version = UTILS["ohaf_drbd.parse_version"]
    out = "DRBD_KERNEL_VERSION=9.2.5\nDRBDADM_VERSION=9.22.0\n"
    assert version(fixture("proc_drbd_84_syncsource.txt"), out) == {
        "kernel": "8.4.10", "utils": "9.22.0", "major": "8.4"}
    assert version(None, out) == {"kernel": "9.2.5", "utils": "9.22.0", "major": "9"}
    assert version(None, "DRBD_KERNEL_VERSION=0\n")["major"] is None


def test_util_command_results_blkid_and_get_gi():
    sigs = UTILS["ohaf_drbd.signatures_of_result"]
    assert sigs("/dev/x", fh.res("", retcode=2)) == []
    assert sigs("/dev/x", fh.res("", retcode=8)) == [{"TYPE": "ambivalent", "DEVNAME": "/dev/x"}]
    assert UTILS["ohaf_drbd.sig_type"](sigs("/dev/x", fh.res(fixture("blkid_lvm_pv.txt")))) \
        == "LVM2_member"
    gi = UTILS["ohaf_drbd.gi_of_result"]
    argv = ["drbdadm", "get-gi", "r0"]
    assert gi(argv, fh.res(GI_FRESH))["current"] == 4
    assert gi(argv, fh.res("\n", retcode=1, stderr="No valid meta data found\n")) is None
    with pytest.raises(CommandExecutionError, match=r"drbdadm get-gi r0 failed \(rc=1\): open"):
        gi(argv, fh.res("", retcode=1, stderr="open(/dev/sda5) failed: No such file\n"))
    with pytest.raises(CommandExecutionError, match="unexpected drbdadm get-gi output"):
        gi(argv, fh.res("garbage\n"))


def test_util_create_md_problems_over_read_facts():
    volumes = {0: {"disk": "/dev/sda5", "meta_disk": "/dev/sda3"},
               1: {"disk": "/dev/sda6", "meta_disk": "internal"},
               2: {"disk": "none"}}
    devices = UTILS["ohaf_drbd.md_devices"](volumes)
    assert devices == [(0, "backing device", "/dev/sda5"), (0, "meta-disk", "/dev/sda3"),
                       (1, "backing device", "/dev/sda6")]
    ext4 = UTILS["ohaf_drbd.parse_blkid_export"](fixture("blkid_ext4.txt"))
    drbd_md = UTILS["ohaf_drbd.parse_blkid_export"](fixture("blkid_drbd_internal_md.txt"))
    checks = [(0, "backing device", "/dev/sda5", []), (0, "meta-disk", "/dev/sda3", [drbd_md]),
              (1, "backing device", "/dev/sda6", [ext4])]
    problems = UTILS["ohaf_drbd.create_md_problems"]("r0", False, checks)
    assert len(problems) == 1 and problems[0].startswith(
        "backing device /dev/sda6 of resource r0 volume 1 carries ext4 (LABEL=onedata")
    assert UTILS["ohaf_drbd.create_md_problems"]("r0", False, checks[:2]) == []
    assert UTILS["ohaf_drbd.create_md_problems"]("r0", True, [])[0].startswith(
        "resource r0 already has DRBD metadata")


def test_util_primary_problems_over_read_facts():
    problems = UTILS["ohaf_drbd.primary_problems"]
    status = UTILS["ohaf_drbd.parse_status_json"]
    initial = status(fixture("status_json_9_initial_inconsistent.json"))["one-disk"]
    fresh, history = drbd.parse_gi(GI_FRESH), drbd.parse_gi(GI_HISTORY)
    assert problems("one-disk", initial, fresh, "cloud-cc01", "cloud-cc01") == []
    assert problems("one-disk", initial, fresh, "cloud-cc01", "cloud-cc02") == [
        "this node is cloud-cc01, but initial_primary is cloud-cc02"]
    assert problems("one-disk", initial, fresh, "cloud-cc01", None)[0].startswith(
        "forced promotion needs initial_primary=<minion id> naming this node (cloud-cc01)")
    assert problems("one-disk", None, None, "cloud-cc01", "cloud-cc01") == [
        "resource one-disk is not up"]
    assert problems("one-disk", initial, history, "cloud-cc01", "cloud-cc01")[0].startswith(
        "generation identifiers show history (0E0052B97E996EAA:")
    assert UTILS["ohaf_drbd.force_needed"](True, initial) is True
    assert UTILS["ohaf_drbd.force_needed"](False, initial) is False
    uptodate = status(fixture("status_json_9_primary_uptodate.json"))["1-single-0"]
    assert UTILS["ohaf_drbd.force_needed"](True, uptodate) is False


def test_util_users_over_read_facts():
    devices = UTILS["ohaf_drbd.volume_devices"](
        "data-disk", {0: {"device": "/dev/drbd/by-res/data-disk/0"}, 1: {"minor": 3}})
    assert [(d["minor"], d["kdev"]) for d in devices] == [(None, "/dev/drbd/by-res/data-disk/0"),
                                                           (3, "/dev/drbd3")]
    mounts = [("/dev/mapper/x", "/srv/a", "xfs", "/dev/drbd3"),
              ("/dev/sda1", "/", "ext4", "/dev/sda1")]
    assert UTILS["ohaf_drbd.users"](devices, mounts, {3: [("dm-1", ""), ("dm-2", "vg-lv")]}) == [
        "/dev/mapper/x mounted on /srv/a (xfs)", "/dev/drbd3 held by dm-1",
        "/dev/drbd3 held by dm-2 (vg-lv)"]
    assert UTILS["ohaf_drbd.refusal"]("down", "r0", ["a", "b"]) == "refusing to take r0 down: a; b"
