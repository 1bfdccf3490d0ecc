"""_states/drbd.py on top of the real _modules/drbd.py, both with mocked dunders; the host
is the scripted FakeHost (test/fixtures/drbd/fakehost.py) fed by real outputs.

Every state: test=True returns the diff with result None and runs no mutating command;
a second run after the change reports no changes.
"""
import importlib.util
import pathlib

import pytest

from conftest import UTILS, load_ext

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "drbd"


def _load_fakehost():
    spec = importlib.util.spec_from_file_location("onehatest_drbd_fakehost", FIX / "fakehost.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


fh = _load_fakehost()
fixture = fh.fixture
drbd_mod = load_ext("modules", "drbd")
drbd_st = load_ext("states", "drbd")

GI_FRESH = fixture("get_gi_84_fresh.txt")
GI_HISTORY = fixture("get_gi_84_synced_history.txt")
PROC_9 = "version: 9.2.5 (api:2/proto:86-122)\n"
MODULE_FUNCS = ("status", "summarize", "has_metadata", "create_md_problems", "create_md", "up",
                "adjust", "adjust_pending", "primary", "primary_problems", "secondary",
                "users", "is_synced", "wait_synced", "get_gi")


@pytest.fixture
def host():
    return fh.FakeHost()


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def configure_loader_modules(host, opts):
    grains = {"id": "cloud-cc01", "nodename": "cloud-cc01", "host": "cloud-cc01"}
    salt_funcs = {"drbd." + f: getattr(drbd_mod, f) for f in MODULE_FUNCS}
    return {
        drbd_mod: {"__salt__": {"cmd.run_all": host.run_all}, "__grains__": grains,
                   "__context__": {}, "__opts__": opts, "__utils__": UTILS},
        drbd_st: {"__salt__": salt_funcs, "__opts__": opts, "__grains__": grains,
                  "__context__": {}, "__utils__": UTILS},
    }


@pytest.fixture(autouse=True)
def _files(monkeypatch, host):
    fh.install(monkeypatch, drbd_mod, host)
    monkeypatch.setattr(drbd_mod, "_sleep", lambda s: None)


def seed84(host, proc="proc_drbd_84_initial_inconsistent.txt", gi=GI_FRESH, minor=None):
    host.major = "8.4"
    text = fixture(proc) if proc else None
    if text and minor is not None:
        text = text.replace(" 0: cs:", " {}: cs:".format(minor))
    host.proc = text
    host.dump_xml = fixture("dump_xml_84_seed.xml")
    host.gi = {"one-disk": gi, "data-disk": gi}
    return host


UP_PROC = fixture("proc_drbd_84_initial_inconsistent.txt")


def _bring_up(h, argv):
    h.proc = UP_PROC
    h.gi = {k: GI_FRESH for k in h.gi}


# ============================================================================ resource_up
def test_resource_up_test_mode_reports_create_md_and_up_touches_nothing(host, opts):
    seed84(host, proc="proc_drbd_84_unconfigured.txt", gi=None)
    opts["test"] = True
    ret = drbd_st.resource_up("one-disk")
    assert ret["result"] is None
    assert ret["changes"] == {"metadata": {"old": None, "new": "created"},
                              "up": {"old": False, "new": True}}
    assert ret["comment"] == "DRBD resource one-disk would be given metadata and brought up"
    assert host.mutations() == []


def test_resource_up_test_mode_warns_rule1_refusal(host, opts):
    seed84(host, proc="proc_drbd_84_unconfigured.txt", gi=None)
    host.blkid = {"/dev/sda5": fixture("blkid_ext4.txt")}
    opts["test"] = True
    ret = drbd_st.resource_up("one-disk")
    assert ret["result"] is None
    assert "create-md would be REFUSED: backing device /dev/sda5" in ret["comment"]
    assert host.mutations() == []


def test_resource_up_creates_md_then_up_then_second_run_no_changes(host):
    seed84(host, proc="proc_drbd_84_unconfigured.txt", gi=None)
    host.hooks["up"] = _bring_up
    ret = drbd_st.resource_up("one-disk")
    assert ret["result"] is True, ret["comment"]
    assert ret["changes"] == {"metadata": {"old": None, "new": "created"},
                              "up": {"old": False, "new": True}}
    assert host.mutations() == [["drbdadm", "create-md", "--force", "one-disk"],
                                ["drbdadm", "up", "one-disk"]]
    again = drbd_st.resource_up("one-disk")
    assert again["result"] is True and again["changes"] == {}
    assert "is up and matches its config" in again["comment"]
    assert len(host.mutations()) == 2


def test_resource_up_refused_by_rule1_is_result_false(host):
    seed84(host, proc="proc_drbd_84_unconfigured.txt", gi=None)
    host.blkid = {"/dev/sda5": fixture("blkid_ext4.txt")}
    ret = drbd_st.resource_up("one-disk")
    assert ret["result"] is False
    assert ret["changes"] == {}
    assert ret["comment"].startswith("refusing drbdadm create-md one-disk: backing device "
                                     "/dev/sda5 of resource one-disk volume 0 carries ext4")
    assert host.mutations() == []


def test_resource_up_with_wipe_flag_wipes_and_creates(host):
    seed84(host, proc="proc_drbd_84_unconfigured.txt", gi=None)
    host.blkid = {"/dev/sda5": fixture("blkid_ext4.txt")}
    host.hooks["up"] = _bring_up
    ret = drbd_st.resource_up("one-disk", wipe_backing_device=True)
    assert ret["result"] is True, ret["comment"]
    assert host.mutations() == [["wipefs", "--all", "/dev/sda5"],
                                ["drbdadm", "create-md", "--force", "one-disk"],
                                ["drbdadm", "up", "one-disk"]]


def test_resource_up_existing_metadata_only_up(host):
    seed84(host, proc="proc_drbd_84_unconfigured.txt", gi=GI_HISTORY)
    host.hooks["up"] = _bring_up
    ret = drbd_st.resource_up("one-disk")
    assert ret["changes"] == {"up": {"old": False, "new": True}}
    assert host.mutations() == [["drbdadm", "up", "one-disk"]]


def test_resource_up_adjusts_when_config_differs(host, opts):
    seed84(host)
    host.adjust_pending = "drbdsetup-84 disk-options 1 --resync-rate=500M\n"

    def applied(h, argv):
        h.adjust_pending = ""
    host.hooks["adjust"] = applied
    opts["test"] = True
    ret = drbd_st.resource_up("one-disk")
    assert ret["result"] is None
    assert ret["changes"] == {"adjust": {"old": None, "new": [
        "drbdsetup-84 disk-options 1 --resync-rate=500M"]}}
    assert host.mutations() == []
    opts["test"] = False
    ret = drbd_st.resource_up("one-disk")
    assert ret["result"] is True and "adjust" in ret["changes"]
    assert host.mutations() == [["drbdadm", "adjust", "one-disk"]]


def test_resource_up_adjust_verification_failure(host):
    seed84(host)
    host.adjust_pending = "drbdsetup-84 connect one-disk ipv4:192.168.100.11:7788\n"
    ret = drbd_st.resource_up("one-disk")
    assert ret["result"] is False
    assert ret["comment"].startswith("verification failed: drbdadm adjust still pending")


# ============================================================================ primary
def test_primary_already_primary_no_changes(host):
    seed84(host, proc="proc_drbd_84_connected_primary.txt", minor=1)
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert ret == {"name": "one-disk", "result": True, "changes": {},
                   "comment": "DRBD resource one-disk is already Primary"}
    assert host.mutations() == []


def test_primary_test_mode_forced_initial_sync(host, opts):
    seed84(host)
    opts["test"] = True
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert ret["result"] is None
    assert ret["changes"] == {"role": {"old": "Secondary", "new": "Primary"},
                              "forced": {"old": None,
                                         "new": "initial full sync from cloud-cc01"}}
    assert "REFUSED" not in ret["comment"]
    assert host.mutations() == []


def test_primary_test_mode_reports_rule2_refusal(host, opts):
    seed84(host, gi=GI_HISTORY)
    opts["test"] = True
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc02")
    assert ret["result"] is None
    assert "forced promotion would be REFUSED" in ret["comment"]
    assert "initial_primary is cloud-cc02" in ret["comment"]
    assert host.mutations() == []


def test_primary_forced_initial_sync_84(host):
    seed84(host)
    host.hooks["primary"] = lambda h, argv: h.set_role_84("Primary")
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert ret["result"] is True, ret["comment"]
    assert ret["changes"]["role"] == {"old": "Secondary", "new": "Primary"}
    assert host.mutations() == [["drbdadm", "--", "--overwrite-data-of-peer", "primary",
                                 "one-disk"]]
    assert drbd_st.primary("one-disk", force=True,
                           initial_primary="cloud-cc01")["changes"] == {}


def test_primary_forced_refused_is_result_false(host):
    seed84(host, gi=GI_HISTORY)
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert ret["result"] is False and ret["changes"] == {}
    assert ret["comment"].startswith("refusing forced promotion of one-disk: generation "
                                     "identifiers show history")
    assert host.mutations() == []


def test_primary_force_not_used_when_local_uptodate(host):
    # after the initial sync the pillar still says force/initial_primary: plain promotion
    seed84(host, proc="proc_drbd_84_standalone_secondary.txt", gi=GI_HISTORY, minor=1)
    host.hooks["primary"] = lambda h, argv: h.set_role_84("Primary")
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert ret["result"] is True
    assert ret["changes"] == {"role": {"old": "Secondary", "new": "Primary"}}
    assert host.mutations() == [["drbdadm", "primary", "one-disk"]]


@pytest.mark.parametrize("test", [False, True])
def test_primary_initial_only_leaves_every_other_situation_alone(host, opts, test):
    """initial_only (the SLS's drbd-initial-primary): after the initial sync (UpToDate,
    history), on the wrong node or with history, nothing is promoted and nothing fails."""
    opts["test"] = test
    for seed, initial in [(dict(proc="proc_drbd_84_standalone_secondary.txt", gi=GI_HISTORY,
                                minor=1), "cloud-cc01"),
                          (dict(gi=GI_HISTORY), "cloud-cc01"), ({}, "cloud-cc02")]:
        seed84(host, **seed)
        ret = drbd_st.primary("one-disk", force=True, initial_only=True,
                              initial_primary=initial)
        assert (ret["result"], ret["changes"]) == (True, {}), ret
        assert "is not in its initial sync" in ret["comment"]
        assert host.mutations() == []


def test_primary_initial_only_does_the_initial_sync(host):
    seed84(host)
    host.hooks["primary"] = lambda h, argv: h.set_role_84("Primary")
    ret = drbd_st.primary("one-disk", force=True, initial_only=True, initial_primary="cloud-cc01")
    assert ret["result"] is True and ret["changes"]["forced"]["new"] == \
        "initial full sync from cloud-cc01"
    assert host.mutations() == [["drbdadm", "--", "--overwrite-data-of-peer", "primary",
                                 "one-disk"]]


def test_primary_not_up_is_result_false(host):
    seed84(host, proc="proc_drbd_84_unconfigured.txt")
    ret = drbd_st.primary("one-disk")
    assert ret["result"] is False and ret["comment"] == "DRBD resource one-disk is not up on this node"


def test_primary_verification_failure(host):
    seed84(host, proc="proc_drbd_84_standalone_secondary.txt", gi=GI_HISTORY, minor=1)
    ret = drbd_st.primary("one-disk")  # no hook: the role does not change
    assert ret["result"] is False
    assert ret["comment"].startswith("verification failed: one-disk is role Secondary")


def test_primary_drbd9_forced(host):
    host.major, host.proc = "9", PROC_9
    host.dump_xml = fixture("dump_xml_9_seed.xml")
    host.status_json = fixture("status_json_9_initial_inconsistent.json")
    host.gi = {"one-disk": fixture("get_gi_9_fresh.txt")}
    host.hooks["primary"] = lambda h, argv: h.set_role_9("Primary")
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert ret["result"] is True, ret["comment"]
    assert host.mutations() == [["drbdadm", "primary", "--force", "one-disk"]]


def test_primary_refuses_the_wrong_node_in_test_and_real_mode_and_writes_nothing(host, opts):
    # a blank, never-synced resource where cloud-cc01 would be allowed: only the node is wrong
    seed84(host)
    calls = []
    drbd_st.__salt__["drbd.primary"] = lambda *a, **kw: calls.append((a, kw))
    opts["test"] = True
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc02")
    assert ret["result"] is None
    assert ret["comment"] == ("DRBD resource one-disk would be promoted with force (initial "
                              "full sync); forced promotion would be REFUSED: this node is "
                              "cloud-cc01, but initial_primary is cloud-cc02")
    opts["test"] = False
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc02")
    assert ret == {"name": "one-disk", "result": False, "changes": {},
                   "comment": "refusing forced promotion of one-disk: this node is "
                              "cloud-cc01, but initial_primary is cloud-cc02"}
    # refused by the state itself, before the module is even asked
    assert calls == [] and host.mutations() == []
    # the `node` argument names this node the same way
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc01", node="cc01")
    assert ret["result"] is False and "this node is cc01" in ret["comment"]
    assert calls == [] and host.mutations() == []


def test_the_sls_guard_is_what_keeps_the_state_from_promoting_after_the_initial_sync(host,
                                                                                   opts):
    # drbd/resources/init.sls keeps `unless: drbd.primary_problems` on the forced promotion:
    # once synced (UpToDate Secondary under Pacemaker), the state alone would promote
    # (plain promotion, test_primary_force_not_used_when_local_uptodate); the guard's
    # problems (the same ohaf_drbd.primary_problems) make it a quiet skip instead
    seed84(host, proc="proc_drbd_84_standalone_secondary.txt", gi=GI_HISTORY, minor=1)
    assert drbd_mod.primary_problems("one-disk", initial_primary="cloud-cc01") != []
    opts["test"] = True
    ret = drbd_st.primary("one-disk", force=True, initial_primary="cloud-cc01")
    assert ret["result"] is None
    assert ret["changes"] == {"role": {"old": "Secondary", "new": "Primary"}}


# ============================================================================ secondary
def test_secondary_already_secondary_no_changes(host):
    seed84(host)
    ret = drbd_st.secondary("one-disk")
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"] == "DRBD resource one-disk is already Secondary"


def test_secondary_not_up_no_changes(host):
    seed84(host, proc="proc_drbd_84_unconfigured.txt")
    ret = drbd_st.secondary("one-disk")
    assert ret["result"] is True and ret["changes"] == {}


def test_secondary_test_mode_reports_holder(host, opts):
    seed84(host, proc="proc_drbd_84_connected_primary.txt", minor=1)
    host.mounts = "/dev/drbd1 /srv/cloud/one ext4 rw 0 0\n"
    opts["test"] = True
    ret = drbd_st.secondary("one-disk")
    assert ret["result"] is None
    assert ret["changes"] == {"role": {"old": "Primary", "new": "Secondary"}}
    assert ret["comment"] == ("DRBD resource one-disk would be demoted; demotion would be "
                              "REFUSED: /dev/drbd1 mounted on /srv/cloud/one (ext4)")
    assert host.mutations() == []


def test_secondary_refused_when_mounted_is_result_false(host):
    seed84(host, proc="proc_drbd_84_connected_primary.txt", minor=2)
    host.holders = {2: ["dm-3"]}
    host.dm_names = {"dm-3": "one--data-lv--one--7"}
    ret = drbd_st.secondary("data-disk")
    assert ret["result"] is False
    assert ret["comment"] == ("refusing to demote data-disk: /dev/drbd2 held by dm-3 "
                              "(one--data-lv--one--7)")
    assert host.mutations() == []


def test_secondary_demotes_and_verifies(host):
    seed84(host, proc="proc_drbd_84_connected_primary.txt", minor=1)
    host.hooks["secondary"] = lambda h, argv: h.set_role_84("Secondary")
    ret = drbd_st.secondary("one-disk")
    assert ret["result"] is True
    assert ret["changes"] == {"role": {"old": "Primary", "new": "Secondary"}}
    assert host.mutations() == [["drbdadm", "secondary", "one-disk"]]
    assert drbd_st.secondary("one-disk")["changes"] == {}


# ============================================================================ synced
def test_synced_already_in_sync(host):
    seed84(host, proc="proc_drbd_84_connected_primary.txt", minor=1)
    ret = drbd_st.synced("one-disk", timeout=5)
    assert ret["result"] is True and ret["changes"] == {}
    assert ret["comment"].startswith("DRBD resource one-disk is in sync")


def test_synced_test_mode(host, opts):
    seed84(host, proc="proc_drbd_84_syncsource.txt", minor=1)
    opts["test"] = True
    ret = drbd_st.synced("one-disk", timeout=600)
    assert ret["result"] is None
    assert ret["changes"]["sync"]["new"] == "UpToDate everywhere"
    assert "SyncSource 6.9%" in ret["changes"]["sync"]["old"]
    assert ret["comment"] == "would wait up to 600s for one-disk to sync"


def test_synced_waits_then_reports_change(host, monkeypatch):
    seed84(host, proc="proc_drbd_84_syncsource.txt", minor=1)
    done = fixture("proc_drbd_84_connected_primary.txt").replace(" 0: cs:", " 1: cs:")

    def sleep(s):
        host.proc = done
    monkeypatch.setattr(drbd_mod, "_sleep", sleep)
    ret = drbd_st.synced("one-disk", timeout=60, interval=1)
    assert ret["result"] is True, ret["comment"]
    assert "SyncSource 6.9%" in ret["changes"]["sync"]["old"]
    assert drbd_st.synced("one-disk")["changes"] == {}


def test_synced_timeout_is_result_false(host, monkeypatch):
    seed84(host, proc="proc_drbd_84_synctarget.txt", minor=1)
    t = {"now": 0.0}
    monkeypatch.setattr(drbd_mod, "_now", lambda: t["now"])
    monkeypatch.setattr(drbd_mod, "_sleep", lambda s: t.__setitem__("now", t["now"] + s))
    ret = drbd_st.synced("one-disk", timeout=4, interval=2)
    assert ret["result"] is False
    assert ret["comment"].startswith("resource one-disk not synced after 4s")
