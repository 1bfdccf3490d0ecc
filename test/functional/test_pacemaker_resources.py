"""pacemaker.resources: the REAL SLS applied by a real `salt-call --local state.apply` to an
offline CIB (`pacemaker:lookup:cib`), pillar = pillar.example + test secrets.

Checks the generated graph (ids, agents, group order, constraints), `crm_verify -x`, zero
changes on the second apply, a one-value pillar change touching only that value, the fencing
on/off paths, other storage variants, site extras, and crm_simulate placement/failover on the
CIB the SLS wrote.
"""
import pathlib
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import SaltCall, deep_merge, example_pillar, require_tools
from functional.crmsim import (ENV, assert_seed_constraints, placement, promoted_on,
                               set_promotion_score, simulate)

pytestmark = [pytest.mark.realtool,
              require_tools("cibadmin", "crm_verify", "crm_simulate", "crm_attribute")]

SEED_GROUP = ["san_ip", "lan_ip", "fs_one", "nfs_server", "nfs_one", "aoe_data", "OpenNebula",
              "lighttpd"]
NO_FENCING = {"pacemaker": {"stonith": {"enabled": False, "i_understand_no_fencing": True}}}


def empty_cib(path):
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                   check=True, env=ENV).stdout)
    return path


class Site:
    """One private salt-call config + one offline CIB; apply() = state.apply of the SLS."""

    def __init__(self, root, overrides=None, minion_id="cloud-cc01"):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.cib = empty_cib(self.root / "cib.xml")
        self.salt = SaltCall(self.root / "salt")
        self.minion_id = minion_id
        self.set_pillar(overrides)

    def set_pillar(self, overrides=None):
        self.stage = self.root / "stage"  # crm.cib_staged's copy (default /run/...)
        self.pillar = deep_merge(example_pillar(), deep_merge(
            {"pacemaker": {"lookup": {"cib": str(self.cib), "stage_dir": str(self.stage)}}},
            overrides or {}))
        self.salt.configure(minion_id=self.minion_id, pillar=self.pillar)

    def apply(self, sls="pacemaker.resources", check=True):
        proc, data = self.salt.run("state.apply", sls, check=False)
        assert isinstance(data, dict) and isinstance(data.get("local"), dict), (
            proc.stdout[-3000:] + proc.stderr[-2000:])
        states = {v["__id__"]: v for v in data["local"].values()}
        if check:
            bad = {k: v["comment"] for k, v in states.items() if v["result"] is not True}
            assert not bad, bad
        self.last_stdout = proc.stdout
        return states

    def conf(self):
        return ET.parse(self.cib).getroot().find("configuration")


def changed(states):
    return {k: v["changes"] for k, v in states.items() if v["changes"]}


PUSH = "pacemaker-resources-push"


def graph_changed(states):
    """changed() without the push state, whose patch lines are returned separately."""
    out = changed(states)
    return out, out.pop(PUSH, {}).get("patch", [])


def agent(prim):
    return ":".join(x for x in (prim.get("class"), prim.get("provider"), prim.get("type")) if x)


def params(prim):
    return {nv.get("name"): nv.get("value")
            for nv in prim.findall("instance_attributes/nvpair")}


def crm_verify(cib):
    return subprocess.run(["crm_verify", "-V", "-x", str(cib)], capture_output=True, text=True,
                          env=ENV)


# ------------------------------------------------------------------ the Pacemaker/DRBD guide
@pytest.fixture(scope="module")
def seed(tmp_path_factory):
    """drbd_aoe_lvm with pillar.example's fence devices: applied once."""
    site = Site(tmp_path_factory.mktemp("seed"))
    first = site.apply()
    return site, first


def test_first_apply_builds_the_pacemaker_drbd_guide_graph(seed):
    site, first = seed
    assert first["pacemaker-resources-wait-for-dc"]["result"] is True
    c = site.conf()
    res = c.find("resources")
    assert sorted((e.tag, e.get("id")) for e in res) == [
        ("clone", "ms_drbd_data"), ("clone", "ms_drbd_one"), ("group", "ha_group"),
        ("primitive", "fence_cc01"), ("primitive", "fence_cc02")]
    group = res.find("group[@id='ha_group']")
    assert [p.get("id") for p in group] == SEED_GROUP
    agents = {p.get("id"): agent(p) for p in res.iter("primitive")}
    assert agents == {
        "fence_cc01": "stonith:fence_ipmilan", "fence_cc02": "stonith:fence_ipmilan",
        "san_ip": "ocf:heartbeat:IPaddr2", "lan_ip": "ocf:heartbeat:IPaddr2",
        "drbd_one": "ocf:linbit:drbd", "drbd_data": "ocf:linbit:drbd",
        "fs_one": "ocf:heartbeat:Filesystem", "nfs_server": "ocf:heartbeat:nfsserver",
        "nfs_one": "ocf:heartbeat:exportfs", "aoe_data": "ocf:opennebula-ha:AoEtarget",
        "OpenNebula": "ocf:opennebula-ha:SystemdUnit", "lighttpd": "ocf:opennebula-ha:SystemdUnit"}
    prims = {p.get("id"): p for p in res.iter("primitive")}
    assert params(prims["OpenNebula"]) == {"unit": "opennebula"}
    assert params(prims["lighttpd"]) == {"unit": "lighttpd"}
    assert params(prims["san_ip"]) == {"ip": "192.168.100.10", "cidr_netmask": "24"}
    assert params(prims["lan_ip"]) == {"ip": "10.10.11.12", "cidr_netmask": "24"}
    assert params(prims["drbd_one"]) == {"drbd_resource": "one-disk"}
    assert params(prims["drbd_data"]) == {"drbd_resource": "data-disk"}
    assert params(prims["fs_one"]) == {"device": "/dev/drbd/by-res/one-disk",
                                       "directory": "/srv/cloud/one", "fstype": "ext4"}
    assert params(prims["nfs_one"]) == {
        "clientspec": "192.168.100.0/24", "directory": "/srv/cloud/one", "fsid": "1",
        "options": "rw,sync,no_root_squash,no_subtree_check"}
    assert params(prims["aoe_data"]) == {
        "device": "/dev/drbd/by-res/data-disk", "nic": "bond0", "shelf": "0", "slot": "0",
        "binary": "/usr/local/sbin/vblade-logged"}
    fence = params(prims["fence_cc01"])
    assert fence["pcmk_delay_max"] == "15s" and fence["pcmk_host_list"] == "cloud-cc01"
    assert fence["password"] == "test-only-ipmi"  # in the CIB (Pacemaker reads it there)...
    for dev in ("pacemaker-resources-stonith-fence_cc01", "pacemaker-resources-stonith-fence_cc02"):
        assert first[dev]["changes"]["new"]["params"]["password"] == "<hidden>"
    assert "test-only-ipmi" not in site.last_stdout  # ...never in salt-call's output
    for ms in ("ms_drbd_one", "ms_drbd_data"):
        clone = res.find(f"clone[@id='{ms}']")
        meta = {nv.get("name"): nv.get("value") for nv in clone.findall("meta_attributes/nvpair")}
        assert meta == {"promotable": "true", "promoted-max": "1", "promoted-node-max": "1",
                        "clone-max": "2", "clone-node-max": "1", "notify": "true"}
        assert sorted(op.get("role") for op in clone.iter("op") if op.get("name") == "monitor") == [
            "Promoted", "Unpromoted"]
    assert_seed_constraints(c)
    assert len(list(c.find("constraints"))) == 2
    props = {nv.get("name"): nv.get("value") for nv in c.find("crm_config").iter("nvpair")}
    # two front-ends with fencing: the node running the group wins a fencing race
    # (priority-fencing-delay = twice pcmk_delay_max, every resource's priority 1)
    assert props == {"no-quorum-policy": "stop", "stonith-enabled": "true",
                     "priority-fencing-delay": "30s"}
    assert {nv.get("name"): nv.get("value") for nv in c.find("rsc_defaults").iter("nvpair")} == {
        "resource-stickiness": "1000", "priority": "1"}


def test_fence_devices_exist_before_stonith_is_enabled(seed):
    _, first = seed
    run = {k: v["__run_num__"] for k, v in first.items()}
    assert run["pacemaker-resources-wait-for-dc"] < run["pacemaker-resources-stonith-fence_cc01"] \
        < run["pacemaker-resources-properties"] < run["pacemaker-resources-primitive-san_ip"] \
        < run["pacemaker-resources-group-ha_group"] < run["pacemaker-resources-colocation-ha_col"]
    assert "pacemaker-resources-stonith-disabled-warning" not in first


def test_seed_graph_passes_crm_verify(seed):
    proc = crm_verify(seed[0].cib)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_second_apply_reports_zero_changes(seed, tmp_path):
    site, _ = seed
    before = site.cib.read_text()
    second = site.apply()
    assert changed(second) == {}
    assert len(second) == 22  # wait-for-dc, stage, 19 graph states, push
    assert "is in the desired state" in second[PUSH]["comment"]
    # nothing written either (a cibadmin --patch would bump the epoch)
    assert ET.fromstring(before).get("epoch") == ET.parse(site.cib).getroot().get("epoch")


def test_changing_one_pillar_value_changes_only_that_param(tmp_path_factory, seed):
    site = Site(tmp_path_factory.mktemp("vip"))
    site.cib.write_bytes(seed[0].cib.read_bytes())
    site.set_pillar({"cluster": {"vips": {"lan": "10.10.11.13"}}})
    states = site.apply()
    graph, patch = graph_changed(states)
    assert graph == {"pacemaker-resources-primitive-lan_ip": {
        "params": {"ip": {"old": "10.10.11.12", "new": "10.10.11.13"}}}}
    assert "lan_ip updated" in states["pacemaker-resources-primitive-lan_ip"]["comment"]
    # one patch line: the nvpair, by ids (values never appear in the summary)
    assert len(patch) == 1 and patch[0].startswith("modify ") and "/lan_ip/" in patch[0], patch
    assert "10.10.11" not in patch[0]
    assert crm_verify(site.cib).returncode == 0
    assert changed(site.apply()) == {}


def test_test_mode_on_the_converged_cib_predicts_nothing(seed):
    site, _ = seed
    proc, data = site.salt.run("state.apply", "pacemaker.resources", "test=True")
    assert all(not v["changes"] for v in data["local"].values())


def test_graph_reaches_the_cib_in_one_patch(seed):
    """Staged: the graph states edit a copy; the target CIB is written once, by the push."""
    site, first = seed
    empty_epoch = int(ET.fromstring(subprocess.run(["cibadmin", "--empty"], capture_output=True,
                                                   text=True, env=ENV).stdout).get("epoch"))
    assert int(ET.parse(site.cib).getroot().get("epoch")) == empty_epoch + 1
    run = {k: v["__run_num__"] for k, v in first.items()}
    graph = [k for k in run if k not in ("pacemaker-resources-wait-for-dc",
                                         "pacemaker-resources-stage", PUSH)]
    assert all(run["pacemaker-resources-stage"] < run[k] < run[PUSH] for k in graph)
    patch = first[PUSH]["changes"]["patch"]
    assert f"written ({len(patch)} change(s), one cibadmin --patch)" in first[PUSH]["comment"]
    assert any(line.startswith("create group ha_group") for line in patch), patch
    assert "test-only-ipmi" not in " ".join(patch)
    assert oct((site.stage / "staged.xml").stat().st_mode & 0o777) == "0o600"
    assert oct(site.stage.stat().st_mode & 0o777) == "0o700"


def test_a_failing_graph_state_writes_nothing(tmp_path):
    """A constraint on a resource that does not exist fails its state: the push (and so
    every state before it) never reaches the CIB, which stays byte for byte as it was."""
    bad = {"pacemaker": {"extra_constraints": {"on_ghost": {
        "type": "location_present", "rsc": "no_such_resource", "node": "cloud-cc01",
        "score": 100}}}}
    site = Site(tmp_path, deep_merge(NO_FENCING, bad))
    before = site.cib.read_bytes()
    states = site.apply(check=False)
    assert states["pacemaker-resources-extra-on_ghost"]["result"] is False
    assert states["pacemaker-resources-primitive-san_ip"]["changes"]  # staged...
    assert states[PUSH]["result"] is False  # ...never pushed
    assert site.cib.read_bytes() == before


def test_test_mode_stages_and_writes_nothing(tmp_path_factory, seed):
    """test=True: the graph states read the target CIB directly and predict; no stage copy,
    no push, the CIB untouched."""
    site = Site(tmp_path_factory.mktemp("testmode"))
    site.cib.write_bytes(seed[0].cib.read_bytes())
    site.set_pillar({"cluster": {"vips": {"lan": "10.10.11.14"}}})
    before = site.cib.read_bytes()
    proc, data = site.salt.run("state.apply", "pacemaker.resources", "test=True")
    states = {v["__id__"]: v for v in data["local"].values()}
    assert "pacemaker-resources-stage" not in states and PUSH not in states
    lan = states["pacemaker-resources-primitive-lan_ip"]
    assert lan["result"] is None and lan["changes"]["params"]["ip"]["new"] == "10.10.11.14"
    assert site.cib.read_bytes() == before and not site.stage.exists()


# ---------------------------------------------------------------------------- fencing off
def test_fencing_disabled_by_pillar_warns_and_verifies(tmp_path):
    site = Site(tmp_path, NO_FENCING)
    states = site.apply()
    warn = states["pacemaker-resources-stonith-disabled-warning"]
    assert warn["result"] is True and warn["changes"] == {}
    assert "fencing is DISABLED" in warn["comment"] and "split brain" in warn["comment"]
    assert not any(k.startswith("pacemaker-resources-stonith-fence") for k in states)
    # stonith-enabled=false is written before any resource (crm_verify refuses them otherwise)
    assert states["pacemaker-resources-properties"]["__run_num__"] < \
        states["pacemaker-resources-primitive-san_ip"]["__run_num__"]
    c = site.conf()
    props = {nv.get("name"): nv.get("value") for nv in c.find("crm_config").iter("nvpair")}
    assert props["stonith-enabled"] == "false"
    assert [p.get("id") for p in c.find("resources/group")] == SEED_GROUP
    assert not [p for p in c.iter("primitive") if p.get("class") == "stonith"]
    assert crm_verify(site.cib).returncode == 0
    assert changed(site.apply()) == {}


# --------------------------------------------------------------------------- other variants
@pytest.mark.parametrize("variant,overrides,group", [
    ("moosefs", {}, ["san_ip", "lan_ip", "OpenNebula", "lighttpd"]),
    ("linstor", {"opennebula": {"proxy": {"server": "nginx"}},
                 "pacemaker": {"services": ["opennebula", "fireedge"],
                               "vip_nics": {"lan": "eth2"}}},
     ["san_ip", "lan_ip", "linstor_controller", "OpenNebula", "fireedge", "nginx"]),
    ("nfs", {"cluster": {"storage_servers": {"nfs01": {"san": "192.168.100.41"}}},
             "storage": {"nfs": {"server": "nfs01"}}},
     ["san_ip", "lan_ip", "OpenNebula", "lighttpd"]),
])
def test_variant_graph_is_vips_and_services(tmp_path, variant, overrides, group):
    site = Site(tmp_path, deep_merge({"storage": {"variant": variant}}, overrides))
    site.apply()
    c = site.conf()
    assert [p.get("id") for p in c.find("resources/group[@id='ha_group']")] == group
    assert c.find("resources/clone") is None
    assert list(c.find("constraints")) == []
    prims = {p.get("id"): p for p in c.iter("primitive")}
    if variant == "linstor":
        for rid, unit in [("linstor_controller", "linstor-controller"),
                          ("fireedge", "opennebula-fireedge"), ("nginx", "nginx")]:
            assert agent(prims[rid]) == "ocf:opennebula-ha:SystemdUnit"
            assert params(prims[rid]) == {"unit": unit}
        assert params(prims["lan_ip"])["nic"] == "eth2"
    if variant == "nfs":  # the export lives on the dedicated server, not in the cluster
        assert "nfs_export" not in prims and "nfs_server" not in prims
    assert crm_verify(site.cib).returncode == 0
    assert changed(site.apply()) == {}


def test_moosefs_changing_the_lan_vip_changes_only_lan_ip(tmp_path):
    site = Site(tmp_path, {"storage": {"variant": "moosefs"}})
    site.apply()
    site.set_pillar({"storage": {"variant": "moosefs"},
                     "cluster": {"vips": {"lan": "10.10.11.99"}}})
    assert graph_changed(site.apply())[0] == {"pacemaker-resources-primitive-lan_ip": {
        "params": {"ip": {"old": "10.10.11.12", "new": "10.10.11.99"}}}}


# ------------------------------------------------------------------------------ site extras
def test_extra_resources_and_constraints(tmp_path):
    extras = {"pacemaker": {
        "extra_resources": {
            "ping_gw": {"type": "resource_present", "agent": "ocf:pacemaker:ping",
                        "params": {"host_list": "10.10.11.1", "multiplier": 1000},
                        "ops": [{"name": "monitor", "interval": "15s", "timeout": "20s"}]},
            "cl_ping_gw": {"type": "crm.clone_present", "resource": "ping_gw"},
        },
        "extra_constraints": {
            "ha_group_on_connected": {
                "type": "location_present", "rsc": "ha_group",
                "rules": [{"score": "-INFINITY", "boolean_op": "or", "expressions": [
                    {"attribute": "pingd", "operation": "not_defined"},
                    {"attribute": "pingd", "operation": "lte", "value": "0"}]}]},
        }}}
    site = Site(tmp_path, deep_merge(NO_FENCING, extras))
    states = site.apply()
    assert states["pacemaker-resources-extra-cl_ping_gw"]["__run_num__"] > \
        states["pacemaker-resources-group-ha_group"]["__run_num__"]
    c = site.conf()
    assert c.find("resources/clone[@id='cl_ping_gw']/primitive[@id='ping_gw']") is not None
    assert c.find("constraints/rsc_location[@id='ha_group_on_connected']") is not None
    assert crm_verify(site.cib).returncode == 0
    assert changed(site.apply()) == {}


def test_extra_with_unknown_type_fails_the_render(tmp_path):
    site = Site(tmp_path, {"pacemaker": {"extra_resources": {"x": {"type": "rm_rf"}}}})
    proc, _ = site.salt.run("state.apply", "pacemaker.resources", check=False)
    assert proc.returncode != 0
    assert "pacemaker:extra_resources:x:type: 'rm_rf' is not a crm state" in proc.stdout


def test_extra_may_not_redefine_a_generated_resource(tmp_path):
    site = Site(tmp_path, {"pacemaker": {"extra_resources": {
        "lan_ip": {"type": "resource_present", "agent": "IPaddr2"}}}})
    proc, _ = site.salt.run("state.apply", "pacemaker.resources", check=False)
    assert proc.returncode != 0
    assert "pacemaker:extra_resources:lan_ip: 'lan_ip' is already" in proc.stdout


# ----------------------------------------------------------------------------- writer rule
def test_only_the_cib_writer_renders_the_graph(tmp_path):
    site = Site(tmp_path, {"pacemaker": {"lookup": {"cib": ""}}}, minion_id="cloud-cc02")
    states = site.apply()
    assert list(states) == ["pacemaker-resources-not-cib-writer"]
    assert "written by cloud-cc01 only" in states["pacemaker-resources-not-cib-writer"]["comment"]
    assert states["pacemaker-resources-not-cib-writer"]["changes"] == {}


# ---------------------------------------------------------------------------------- clean
def test_clean_removes_the_graph_and_is_idempotent(tmp_path, seed):
    site = Site(tmp_path)
    site.cib.write_bytes(seed[0].cib.read_bytes())
    states = site.apply("pacemaker.resources.clean")
    assert states["pacemaker-resources-clean-resource-fence_cc02"]["changes"]
    c = site.conf()
    assert list(c.find("resources")) == [] and list(c.find("constraints")) == []
    assert crm_verify(site.cib).returncode == 0
    assert changed(site.apply("pacemaker.resources.clean")) == {}


# ------------------------------------------------------------------------------ crm_simulate
@pytest.fixture(scope="module")
def running(seed, tmp_path_factory):
    """The CIB the SLS wrote (no-quorum-policy stop, fencing on), both front-ends up with
    quorum, DRBD promotion scores cc01 > cc02 (what the linbit agent sets)."""
    work = tmp_path_factory.mktemp("sim")
    up = work / "up.xml"
    # have-quorum: what corosync's two_node gives two live front-ends (and the survivor)
    simulate("-x", seed[0].cib, "-S", "-q", "true", "-u", "cloud-cc01", "-u", "cloud-cc02",
             "-O", up)
    for rsc in ("drbd_one", "drbd_data"):
        for node, score in (("cloud-cc01", 10000), ("cloud-cc02", 5000)):
            set_promotion_score(up, node, rsc, score)
    path = work / "running.xml"
    return path, placement(simulate("-x", up, "-S", "-O", path))


def test_group_and_both_promoted_drbd_run_on_one_node(running):
    _, place = running
    for rsc in SEED_GROUP:
        assert place[rsc] == [("Started", ["cloud-cc01"])], rsc
    assert promoted_on(place, "drbd_one") == ["cloud-cc01"]
    assert promoted_on(place, "drbd_data") == ["cloud-cc01"]
    assert ("Unpromoted", ["cloud-cc02"]) in place["drbd_one"]
    # each fence device runs somewhere (monitor), both nodes can be fenced
    assert place["fence_cc01"][0][0] == "Started" and place["fence_cc02"][0][0] == "Started"


def test_node_failure_fences_and_moves_everything(running):
    out = simulate("-x", running[0], "-S", "--node-fail", "cloud-cc01")
    place = placement(out)
    for rsc in SEED_GROUP:
        assert place[rsc] == [("Started", ["cloud-cc02"])], rsc
    assert promoted_on(place, "drbd_one") == ["cloud-cc02"]
    assert promoted_on(place, "drbd_data") == ["cloud-cc02"]
    # the failed node is fenced first (fencing on, as pillar.example has it)
    fenced = [(e.get("target"), e.get("op")) for e in ET.fromstring(out).iter("fencing_action")]
    assert fenced == [("cloud-cc01", "reboot")]
