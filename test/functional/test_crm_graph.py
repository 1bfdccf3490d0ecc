"""crm states against real pacemaker tools on an offline CIB file (``cib=``).

The Pacemaker/DRBD guide's graph (test/fixtures/crm/pacemaker_drbd_guide_graph.yaml) is applied through the
STATE functions loaded by Salt's real loader (execution modules ``crm`` + ``cmd``, state module
``crm``) sharing one ``__context__`` like a highstate: fast enough for many scenarios.
``test_seed_graph_through_salt_state_single`` runs the whole graph twice through the
``salt_loaders`` fixture too (``state.single`` per state, ~0.5 s per call here).
"""
import copy
import pathlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml
from conftest import minion_config, require_tools
from functional.crmsim import assert_seed_constraints

pytestmark = [pytest.mark.realtool, require_tools("cibadmin", "crm_verify")]

FIX = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "crm"
GRAPH = yaml.safe_load((FIX / "pacemaker_drbd_guide_graph.yaml").read_text())


class SaltCrm:
    def __init__(self, root):
        import salt.config
        import salt.loader

        conf = minion_config(root)
        opts = salt.config.minion_config(str(pathlib.Path(root) / "conf" / "minion"))
        opts.update(conf)
        opts["grains"] = {"os": "Debian", "os_family": "Debian", "kernel": "Linux"}
        opts["test"] = False
        self.context = {}
        utils = salt.loader.utils(opts, context=self.context)
        self.mods = salt.loader.minion_mods(
            opts, context=self.context, utils=utils, whitelist=["cmdmod", "crm"])
        self.states = salt.loader.states(
            opts, self.mods, utils, {}, context=self.context, whitelist=["crm"])
        self.opts = self.states.pack["__opts__"]

    def state(self, fun, **kwargs):
        return self.states[fun](**kwargs)

    def run_graph(self, cib, graph=GRAPH, test=False):
        self.opts["test"] = test
        try:
            out = []
            for entry in graph:
                ((fun, args),) = entry.items()
                out.append(self.state(fun, cib=str(cib), **args))
            return out
        finally:
            self.opts["test"] = False


@pytest.fixture(scope="module")
def salt_crm(tmp_path_factory):
    return SaltCrm(tmp_path_factory.mktemp("salt"))


@pytest.fixture
def crm(salt_crm):
    salt_crm.context.clear()  # each test is its own "state run"
    salt_crm.opts["test"] = False
    return salt_crm


@pytest.fixture(scope="module")
def graph_cib(tmp_path_factory, salt_crm):
    """An empty CIB with the Pacemaker/DRBD guide's graph applied once; tests work on copies."""
    path = tmp_path_factory.mktemp("cib") / "pacemaker_drbd_guide.xml"
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                   check=True).stdout)
    salt_crm.context.clear()
    first = salt_crm.run_graph(path)
    return path, first


@pytest.fixture
def cib(tmp_path, graph_cib):
    dst = tmp_path / "cib.xml"
    shutil.copy(graph_cib[0], dst)
    return dst


def conf(path):
    return ET.parse(path).getroot().find("configuration")


def strip_ids(el):
    el = copy.deepcopy(el)
    for e in el.iter():
        e.attrib.pop("id", None)
    return el


def test_first_run_creates_the_seed_graph(graph_cib):
    path, results = graph_cib
    for r in results:
        assert r["result"] is True, r
        assert r["changes"], r
    c = conf(path)
    res = c.find("resources")
    assert sorted((e.tag, e.get("id")) for e in res) == [
        ("clone", "ms_drbd_data"), ("clone", "ms_drbd_one"), ("group", "ha_group")]
    group = res.find("group")
    assert [p.get("id") for p in group] == [
        "san_ip", "lan_ip", "fs_one", "nfs_one", "aoe_data", "OpenNebula", "lighttpd"]
    aoe = group.find("primitive[@id='aoe_data']")
    assert (aoe.get("class"), aoe.get("provider"), aoe.get("type")) == (
        "ocf", "heartbeat", "AoEtarget")
    assert aoe.find("instance_attributes/nvpair[@name='binary']").get("value") == "/usr/sbin/vblade"
    one = group.find("primitive[@id='OpenNebula']")
    assert (one.get("class"), one.get("provider"), one.get("type")) == ("systemd", None, "opennebula")
    ms = res.find("clone[@id='ms_drbd_one']")
    meta = {nv.get("name"): nv.get("value") for nv in ms.iter("nvpair")
            if nv.get("id").startswith("ms_drbd_one-meta")}
    assert meta == {"promoted-max": "1", "promoted-node-max": "1", "clone-max": "2",
                    "clone-node-max": "1", "notify": "true", "promotable": "true"}
    assert ms.find("primitive").get("id") == "drbd_one"
    roles = sorted(op.get("role") for op in ms.iter("op"))
    assert roles == ["Promoted", "Unpromoted"]
    assert_seed_constraints(c)
    props = {nv.get("name"): nv.get("value") for nv in c.find("crm_config").iter("nvpair")}
    assert props == {"no-quorum-policy": "ignore", "stonith-enabled": "false"}
    assert c.find("rsc_defaults/meta_attributes/nvpair").attrib["value"] == "1000"
    assert len(list(c.find("constraints"))) == 2


def test_graph_passes_crm_verify(crm, cib):
    proc = subprocess.run(["crm_verify", "-V", "-x", str(cib)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert crm.mods["crm.verify"](cib=str(cib)) == {
        "valid": True, "retcode": 0, "errors": [], "warnings": [], "output": ""}


def test_second_run_reports_no_changes(crm, cib):
    before = cib.read_bytes()
    results = crm.run_graph(cib)
    assert [r["changes"] for r in results] == [{}] * len(GRAPH)
    assert all(r["result"] is True for r in results)
    assert all("desired state" in r["comment"] for r in results)
    assert cib.read_bytes() == before  # not even an epoch bump


def test_test_mode_reports_but_touches_nothing(crm, cib):
    before = cib.read_bytes()
    graph = copy.deepcopy(GRAPH)
    graph[3]["crm.resource_present"]["params"]["ip"] = "10.10.11.99"
    res = crm.run_graph(cib, graph=graph, test=True)
    assert res[3]["result"] is None
    assert res[3]["changes"] == {"params": {"ip": {"old": "10.10.11.12", "new": "10.10.11.99"}}}
    assert [r["changes"] for i, r in enumerate(res) if i != 3] == [{}] * (len(GRAPH) - 1)
    assert cib.read_bytes() == before


def test_changing_one_param_changes_only_that_param(crm, cib):
    before = conf(cib)
    epoch = int(ET.parse(cib).getroot().get("epoch"))
    ret = crm.state("crm.resource_present", name="lan_ip", agent="ocf:heartbeat:IPaddr2",
                    params={"ip": "10.10.11.13", "cidr_netmask": 24, "nic": "eth2"},
                    ops=[{"name": "monitor", "interval": "40s", "timeout": "20s"}], cib=str(cib))
    assert ret["result"] is True
    assert ret["changes"] == {"params": {"ip": {"old": "10.10.11.12", "new": "10.10.11.13"}}}
    after = conf(cib)
    assert int(ET.parse(cib).getroot().get("epoch")) == epoch + 1  # exactly one write
    nv = after.find(".//primitive[@id='lan_ip']/instance_attributes/nvpair[@name='ip']")
    assert nv.get("value") == "10.10.11.13"
    nv.set("value", "10.10.11.12")
    # everything else is byte-identical, ids included
    assert ET.tostring(after) == ET.tostring(before)
    again = crm.state("crm.resource_present", name="lan_ip", agent="ocf:heartbeat:IPaddr2",
                      params={"ip": "10.10.11.13", "cidr_netmask": 24, "nic": "eth2"},
                      ops=[{"name": "monitor", "interval": "40s", "timeout": "20s"}],
                      cib=str(cib))
    assert again["changes"] == {}


def test_op_and_meta_changes_are_reported_per_key(crm, cib):
    ret = crm.state("crm.resource_present", name="drbd_one", agent="ocf:linbit:drbd",
                    params={"drbd_resource": "one-disk"},
                    ops=[{"name": "monitor", "interval": "29s", "role": "Master", "timeout": "30s"},
                         {"name": "monitor", "interval": "31000ms", "role": "Slave",
                          "timeout": "20"}],
                    meta={"migration-threshold": 3}, cib=str(cib))
    assert ret["result"] is True, ret
    assert ret["changes"] == {
        "meta": {"migration-threshold": {"old": None, "new": "3"}},
        "ops": {"monitor-29s-Promoted": {
            "old": {"name": "monitor", "interval": "29s", "role": "Promoted", "timeout": "20s"},
            "new": {"name": "monitor", "interval": "29s", "role": "Master", "timeout": "30s"}}},
    }
    op = conf(cib).find(".//op[@id='drbd_one-monitor-29s']")
    assert (op.get("timeout"), op.get("role")) == ("30s", "Promoted")


def test_remove_referenced_resource_cleans_constraints_in_one_write(crm, cib):
    root = ET.parse(cib).getroot()
    epoch = int(root.get("epoch"))
    ret = crm.state("crm.resource_absent", name="ms_drbd_data", recursive=True, cib=str(cib))
    assert ret["result"] is True, ret
    assert set(ret["changes"]) == {"ms_drbd_data", "drbd_data", "ha_col", "ha_after_drbd"}
    assert ret["changes"]["ms_drbd_data"]["new"] is None
    assert int(ET.parse(cib).getroot().get("epoch")) == epoch + 1
    c = conf(cib)
    assert c.find(".//*[@id='drbd_data']") is None
    assert c.find(".//resource_ref[@id='ms_drbd_data']") is None
    col = c.find("constraints/rsc_colocation[@id='ha_col']")
    assert [[r.get("id") for r in s] for s in col.findall("resource_set")] == [
        ["ha_group"], ["ms_drbd_one"]]
    assert subprocess.run(["crm_verify", "-x", str(cib)]).returncode == 0
    # a simple (non-set) constraint that loses its resource disappears with it
    loc = crm.state("crm.location_present", name="lan_ip_prefers_n1", rsc="ha_group",
                    node="n1", score=100, cib=str(cib))
    assert loc["result"] is True and loc["changes"]["new"]["rsc"] == "ha_group"
    gone = crm.state("crm.resource_absent", name="ha_group", recursive=True, cib=str(cib))
    assert gone["result"] is True
    assert {"ha_group", "lan_ip", "lan_ip_prefers_n1", "ha_col", "ha_after_drbd"} <= set(
        gone["changes"])
    c = conf(cib)
    assert [e.get("id") for e in c.find("constraints")] == []
    assert [e.get("id") for e in c.find("resources")] == ["ms_drbd_one"]
    assert subprocess.run(["crm_verify", "-x", str(cib)]).returncode == 0
    assert crm.state("crm.resource_absent", name="ha_group", cib=str(cib))["changes"] == {}


def test_group_member_must_exist_and_nothing_is_written(crm, cib):
    before = cib.read_bytes()
    ret = crm.state("crm.group_present", name="ha_group",
                    members=["san_ip", "lan_ip", "no_such_rsc"], cib=str(cib))
    assert ret["result"] is False
    assert "no_such_rsc" in ret["comment"] and "do not exist" in ret["comment"]
    assert cib.read_bytes() == before


def test_group_members_dropped_stay_as_primitives(crm, cib):
    ret = crm.state("crm.group_present", name="ha_group",
                    members=["san_ip", "lan_ip", "fs_one", "nfs_one", "aoe_data", "OpenNebula"],
                    cib=str(cib))
    assert ret["changes"] == {"members": {
        "old": ["san_ip", "lan_ip", "fs_one", "nfs_one", "aoe_data", "OpenNebula", "lighttpd"],
        "new": ["san_ip", "lan_ip", "fs_one", "nfs_one", "aoe_data", "OpenNebula"]}}
    res = conf(cib).find("resources")
    assert res.find("primitive[@id='lighttpd']") is not None


def test_crmsh_built_cib_is_recognised_as_desired(crm, tmp_path):
    """A CIB written by crmsh 4.4 (<master>, Master/Slave, master-max, crmsh ids) is what
    our states describe: no changes, nothing written."""
    path = tmp_path / "crmsh.xml"
    shutil.copy(FIX / "crmsh_pacemaker_drbd_guide_query.xml", path)
    before = path.read_bytes()
    crmsh_part = [e for e in GRAPH if list(e.values())[0]["name"] not in (
        "aoe_data", "OpenNebula", "lighttpd", "ha_group")]
    crmsh_part.append({"crm.group_present": {
        "name": "ha_group", "members": ["san_ip", "lan_ip", "fs_one", "nfs_one"]}})
    # crmsh wrote the shorthand from the Pacemaker/DRBD guide (score inf, Master)
    results = crm.run_graph(path, graph=crmsh_part)
    assert [(r["name"], r["changes"]) for r in results if r["changes"]] == []
    assert path.read_bytes() == before


def test_stonith_secret_is_hidden(crm, cib):
    ret = crm.state("crm.stonith_present", name="fence_n1", agent="fence_ipmilan",
                    params={"plug": "n1", "password": "s3cr3t-pw", "ip": "10.0.0.1",
                            "username": "admin"},
                    cib=str(cib))
    assert ret["result"] is True, ret
    assert ret["changes"]["new"]["params"] == {
        "plug": "n1", "password": "<hidden>", "ip": "10.0.0.1", "username": "admin"}
    assert "s3cr3t" not in repr(ret)
    el = conf(cib).find("resources/primitive[@id='fence_n1']")
    assert (el.get("class"), el.get("type")) == ("stonith", "fence_ipmilan")
    ret = crm.state("crm.stonith_present", name="fence_n1", agent="stonith:fence_ipmilan",
                    params={"plug": "n1", "password": "other-pw", "ip": "10.0.0.1",
                            "username": "admin"},
                    cib=str(cib))
    assert ret["changes"] == {"params": {"password": {"old": "<hidden>", "new": "<hidden>"}}}
    assert "pw" not in repr(ret)
    assert "other-pw" not in crm.mods["crm.query"](cib=str(cib))
    shown = crm.mods["crm.get"]("fence_n1", cib=str(cib))
    assert shown["params"]["password"] == "<hidden>"


def test_stonith_enabled_without_device_is_refused_with_pacemakers_words(crm, cib):
    before = cib.read_bytes()
    ret = crm.state("crm.property_present", name="stonith-enabled", value=True, cib=str(cib))
    assert ret["result"] is False
    assert "Resource start-up disabled since no STONITH resources have been defined" in ret[
        "comment"]
    assert cib.read_bytes() == before
    # set behind our back: the module's verify reports what Pacemaker says
    subprocess.run(["crm_attribute", "--type", "crm_config", "--name", "stonith-enabled",
                    "--update", "true"], env={"CIB_file": str(cib), "PATH": "/usr/sbin:/usr/bin"},
                   check=True, capture_output=True)
    res = crm.mods["crm.verify"](cib=str(cib))
    assert res["valid"] is False and res["retcode"] != 0
    assert "Resource start-up disabled since no STONITH resources have been defined" in res[
        "errors"]
    assert "Either configure some or disable STONITH with the stonith-enabled option" in res[
        "errors"]


def test_properties_sections_and_boolean_spellings(crm, cib):
    ret = crm.state("crm.property_present", name="cluster-options",
                    properties={"no-quorum-policy": "ignore", "stonith-enabled": "0"},
                    cib=str(cib))
    assert ret["changes"] == {}  # false == 0 for a boolean option
    ret = crm.state("crm.property_present", name="timeout", value="60s",
                    section="op_defaults", cib=str(cib))
    assert ret["changes"] == {"timeout": {"old": None, "new": "60s"}}
    assert conf(cib).find("op_defaults/meta_attributes[@id='op-options']/nvpair").get(
        "value") == "60s"
    assert crm.state("crm.property_absent", name="timeout", section="op_defaults",
                     cib=str(cib))["changes"] == {"timeout": {"old": "60s", "new": None}}
    assert crm.mods["crm.properties"](section="rsc_defaults", cib=str(cib)) == {
        "resource-stickiness": "1000"}


def test_live_cluster_down_fails_fast(crm):
    probe = subprocess.run(["cibadmin", "--query", "-t", "2"], capture_output=True,
                           env={"PATH": "/usr/sbin:/usr/bin"})
    if probe.returncode == 0:
        pytest.skip("a live cluster answers on this host")
    import time

    from salt.exceptions import CommandExecutionError

    t0 = time.monotonic()
    with pytest.raises(CommandExecutionError, match="cluster not running"):
        crm.mods["crm.query"]()
    with pytest.raises(CommandExecutionError, match="^cluster not running"):
        crm.mods["crm.verify"]()
    with pytest.raises(CommandExecutionError, match=re.escape("no DC elected within 2s")):
        crm.mods["crm.wait_for_dc"](timeout=2, interval=0.5)
    ret = crm.state("crm.resource_present", name="x", agent="ocf:heartbeat:Dummy")
    assert ret["result"] is False and "cluster not running" in ret["comment"]
    assert time.monotonic() - t0 < 15


def test_seed_graph_through_salt_state_single(salt_loaders, tmp_path, graph_cib):
    """The same graph through Salt's state machinery (``state.single`` per state, so each
    state is its own run with its own __context__): same CIB, then zero changes."""
    path = tmp_path / "single.xml"
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                   check=True).stdout)
    for label, expect_changes in (("apply", True), ("re-apply", False)):
        for entry in GRAPH:
            ((fun, args),) = entry.items()
            mod, func = fun.split(".")
            ret = getattr(getattr(salt_loaders.states, mod), func)(cib=str(path), **args)
            assert ret.result is True, (label, ret.filtered)
            assert bool(ret.changes) is expect_changes, (label, ret.filtered)
    ours, theirs = conf(path), conf(graph_cib[0])
    assert ET.tostring(ours) == ET.tostring(theirs)
