"""Failover simulation of the Pacemaker/DRBD guide's graph built by the crm states
(crm_simulate).

The graph is applied to an empty offline CIB through the states, two nodes are brought up
with ``crm_simulate -u``, DRBD promotion scores are injected with ``crm_attribute`` (what the
linbit agent does with crm_master on a real cluster), and Pacemaker's scheduler decides.
"""
import pathlib
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml
from conftest import minion_config, require_tools
from functional.crmsim import ENV, placement, promoted_on, set_promotion_score, simulate

pytestmark = [pytest.mark.realtool,
              require_tools("cibadmin", "crm_verify", "crm_simulate", "crm_attribute")]

FIX = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "crm"
GRAPH = yaml.safe_load((FIX / "pacemaker_drbd_guide_graph.yaml").read_text())
GROUP = ["san_ip", "lan_ip", "fs_one", "nfs_one", "aoe_data", "OpenNebula", "lighttpd"]


def _salt(root):
    import salt.config
    import salt.loader

    conf = minion_config(root)
    opts = salt.config.minion_config(str(pathlib.Path(root) / "conf" / "minion"))
    opts.update(conf)
    opts["grains"] = {"os": "Debian", "os_family": "Debian", "kernel": "Linux"}
    opts["test"] = False
    ctx = {}
    utils = salt.loader.utils(opts, context=ctx)
    mods = salt.loader.minion_mods(opts, context=ctx, utils=utils, whitelist=["cmdmod", "crm"])
    states = salt.loader.states(opts, mods, utils, {}, context=ctx, whitelist=["crm"])
    return mods, states


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    """The Pacemaker/DRBD guide's graph applied by the states, then n1 + n2 up, scores n1 > n2."""
    work = tmp_path_factory.mktemp("sim")
    cib = work / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True, env=ENV).stdout)
    mods, states = _salt(work / "salt")
    for entry in GRAPH:
        ((fun, args),) = entry.items()
        ret = states[fun](cib=str(cib), **args)
        assert ret["result"] is True, ret
    assert mods["crm.verify"](cib=str(cib))["valid"] is True
    up = work / "up.xml"
    simulate("-x", cib, "-S", "-u", "n1", "-u", "n2", "-O", up)
    for rsc in ("drbd_one", "drbd_data"):
        set_promotion_score(up, "n1", rsc, 10000)
        set_promotion_score(up, "n2", rsc, 5000)
    return work, up, mods


@pytest.fixture(scope="module")
def running(two_nodes):
    work, up, _ = two_nodes
    path = work / "running.xml"
    return path, placement(simulate("-x", up, "-S", "-O", path))


def test_everything_runs_together_on_the_preferred_node(running):
    _, place = running
    for rsc in GROUP:
        assert place[rsc] == [("Started", ["n1"])], rsc
    assert promoted_on(place, "drbd_one") == ["n1"]
    assert promoted_on(place, "drbd_data") == ["n1"]
    # the other instances run unpromoted on the peer
    assert ("Unpromoted", ["n2"]) in place["drbd_one"]
    assert ("Unpromoted", ["n2"]) in place["drbd_data"]


def test_group_starts_only_after_both_promotions(two_nodes):
    work, up, _ = two_nodes
    graph = work / "graph.xml"
    subprocess.run(["crm_simulate", "-x", str(up), "-S", "-Q", "-G", str(graph)],
                   check=True, capture_output=True, env=ENV)
    inputs = None
    for syn in ET.parse(graph).getroot().findall("synapse"):
        act = syn.find("action_set")[0]
        if act.get("operation_key") == "ha_group_start_0":
            inputs = {i[0].get("operation_key") for i in syn.find("inputs")}
    assert inputs == {"ms_drbd_one_confirmed-post_notify_promoted_0",
                      "ms_drbd_data_confirmed-post_notify_promoted_0"}


def test_node_failure_moves_everything_to_the_peer(running):
    place = placement(simulate("-x", running[0], "-S", "--node-fail", "n1"))
    for rsc in GROUP:
        assert place[rsc] == [("Started", ["n2"])], rsc
    assert promoted_on(place, "drbd_one") == ["n2"]
    assert promoted_on(place, "drbd_data") == ["n2"]


def test_stonith_enabled_without_device_is_what_pacemaker_reports(two_nodes, running,
                                                                  tmp_path):
    _, _, mods = two_nodes
    cib = tmp_path / "fencing.xml"
    cib.write_bytes(running[0].read_bytes())
    subprocess.run(["crm_attribute", "--type", "crm_config", "--name", "stonith-enabled",
                    "--update", "true"], env=dict(ENV, CIB_file=str(cib)), check=True,
                   capture_output=True)
    res = mods["crm.verify"](cib=str(cib))
    assert res["valid"] is False
    assert res["errors"][:2] == [
        "Resource start-up disabled since no STONITH resources have been defined",
        "Either configure some or disable STONITH with the stonith-enabled option",
    ]
    assert "Resource start-up disabled since no STONITH resources" in res["output"]
    # and that is what it means: n1 cannot be fenced, so nothing fails over to n2
    place = placement(simulate("-x", cib, "-S", "--node-fail", "n1"))
    for rsc in GROUP:
        assert place[rsc] == [("Started", ["n1"])], rsc
    assert promoted_on(place, "drbd_one") == ["n1"]
    assert promoted_on(place, "drbd_data") == ["n1"]
