"""linstor states/module through Salt's real loader and the real python-linstor client,
against the loopback LINSTOR REST v1 double (test/doubles/linstor_double.py).

The LINSTOR guide (LINSTOR + OpenNebula): nodes alpha..delta (alpha Combined), lvmthin pools
open_system (linstorpool/thin_system) and open_image (linstorpool/thin_image) on every node,
resource groups for the image and system datastores (auto-place 2).
"""
import logging
import pathlib
import re

import pytest
from conftest import load_double

TEST = pathlib.Path(__file__).resolve().parents[1]


LinstorRestDouble = load_double("linstor_double").LinstorRestDouble

SEED_NODES = {
    "alpha": ("10.0.0.1", "Combined"),
    "bravo": ("10.0.0.2", "Satellite"),
    "charlie": ("10.0.0.3", "Satellite"),
    "delta": ("10.0.0.4", "Satellite"),
}
SEED_POOLS = {"open_system": "linstorpool/thin_system", "open_image": "linstorpool/thin_image"}
POOL_LIST = re.compile(r"^/v1/view/storage-pools$")


@pytest.fixture
def double():
    with LinstorRestDouble() as dbl:
        yield dbl


@pytest.fixture(scope="module")
def ls(tmp_path_factory):
    """Salt's real loader with our _modules/_states, shared by this file's tests.

    Not conftest's ``salt_loaders``: its file_roots include the repo root, and the
    ``saltutil.sync_all`` done by every Loaders() walks .venv/ and .lab/ (GBs of lab
    rootfs) once per test. Every test here starts a new run with ``context.clear()``.
    """
    import salt.config
    from saltfactories.utils.functional import Loaders

    root = tmp_path_factory.mktemp("salt")
    for sub in ("files", "pillar", "cache", "pki", "sock"):
        (root / sub).mkdir()
    opts = salt.config.minion_config(None)
    opts.update({
        "id": "linstor-test", "root_dir": str(root), "file_client": "local",
        "file_roots": {"base": [str(root / "files")]}, "pillar_roots": {"base": [str(root / "pillar")]},
        "module_dirs": [str(TEST.parent / "_modules")], "states_dirs": [str(TEST.parent / "_states")],
        "utils_dirs": [str(TEST.parent / "_utils")],
        "cachedir": str(root / "cache"), "pki_dir": str(root / "pki"), "sock_dir": str(root / "sock"),
        "log_file": str(root / "minion.log"), "enable_fqdns_grains": False, "grains_cache": False,
    })
    loaders = Loaders(opts)
    # failed states are expected here; salt.state logs each at ERROR into Salt's temporary
    # handler, which flushes them onto an already closed stderr at exit ("Logging error")
    state_log = logging.getLogger("salt.state")
    level = state_log.level
    state_log.setLevel(logging.CRITICAL)
    try:
        yield loaders
    finally:
        state_log.setLevel(level)
        loaders.reset_state()


def seed_high(ctrl, nodes=SEED_NODES, pools=SEED_POOLS, pool_props=None, rg=True):
    """High data for the LINSTOR guide's layout, the way storage/linstor SLS would express it."""
    high = {}
    for node, (address, node_type) in nodes.items():
        high[f"linstor-node-{node}"] = {
            "linstor": ["node_present", {"name": node}, {"address": address},
                        {"node_type": node_type}, {"controllers": ctrl}],
            "__sls__": "linstor_test", "__env__": "base",
        }
        for pool, driver_pool in pools.items():
            args = [{"name": pool}, {"node": node}, {"driver": "lvmthin"},
                    {"driver_pool": driver_pool}, {"controllers": ctrl},
                    {"require": [{"linstor": f"linstor-node-{node}"}]}]
            if pool_props:
                args.append({"properties": pool_props})
            high[f"linstor-pool-{node}-{pool}"] = {
                "linstor": ["storage_pool_present", *args],
                "__sls__": "linstor_test", "__env__": "base",
            }
    if rg:
        high["linstor-rg-one_image"] = {
            "linstor": ["resource_group_present", {"name": "one_image"}, {"place_count": 2},
                        {"storage_pool": "open_image"},
                        {"properties": {"DrbdOptions/auto-quorum": "suspend-io"}},
                        {"controllers": ctrl}],
            "__sls__": "linstor_test", "__env__": "base",
        }
        high["linstor-rg-one_system"] = {
            "linstor": ["resource_group_present", {"name": "one_system"}, {"place_count": 2},
                        {"storage_pool": ["open_system"]}, {"controllers": ctrl}],
            "__sls__": "linstor_test", "__env__": "base",
        }
    return high


def apply_high(loaders, high, test=False):
    """One state run (fresh __context__, like a new highstate); returns {id: raw return}."""
    loaders.context.clear()
    res = loaders.modules.state.high(high, test=test)
    out = {}
    for item in res:
        out[item.id] = {"result": item.result, "changes": item.changes, "comment": item.comment,
                        "name": item.name}
    assert len(out) == len(high), out
    return out


def single(loaders, fun, **kwargs):
    loaders.context.clear()
    res = getattr(loaders.states.linstor, fun)(**kwargs)
    return {"result": res.result, "changes": res.changes, "comment": str(res.comment)}


# --------------------------------------------------------------------------- handshake
def test_python_linstor_connects_to_the_double(double):
    import linstor

    client = linstor.MultiLinstor([double.url])
    assert client.connect() is True
    assert client.controller_version().rest_api_version == "1.27.0"
    client.disconnect()
    # connect() probes for an https redirect, then asks for the version on its connection
    assert double.count("GET", "/v1/controller/version") == 3


def test_our_module_imports_the_library_not_itself(ls):
    mod_globals = ls.modules.linstor.resolve_controllers.__globals__
    assert mod_globals["linstor"].MultiLinstor.__module__ == "linstor.linstorapi"


# ------------------------------------------------------------------ the LINSTOR guide
def test_linstor_guide_create_then_second_run_changes_nothing(ls, double):
    high = seed_high(double.url)
    first = apply_high(ls, high)
    assert all(r["result"] is True for r in first.values()), first
    assert all(r["changes"] for r in first.values()), "every object was created"
    assert first["linstor-node-alpha"]["changes"] == {
        "node": {"old": None, "new": {"address": "10.0.0.1", "node_type": "Combined", "comm_type": "Plain"}}
    }

    # what the controller holds now
    assert {n: (d["type"], d["net_interfaces"][0]["address"]) for n, d in double.nodes.items()} == {
        "alpha": ("COMBINED", "10.0.0.1"), "bravo": ("SATELLITE", "10.0.0.2"),
        "charlie": ("SATELLITE", "10.0.0.3"), "delta": ("SATELLITE", "10.0.0.4"),
    }
    for node in SEED_NODES:
        assert sorted(double.pools[node]) == ["DfltDisklessStorPool", "open_image", "open_system"]
        img = double.pools[node]["open_image"]
        assert img["provider_kind"] == "LVM_THIN"
        assert img["props"] == {"StorDriver/StorPoolName": "linstorpool/thin_image"}
    rg = double.resource_groups["one_image"]
    assert rg["select_filter"]["place_count"] == 2
    assert rg["select_filter"]["storage_pool_list"] == ["open_image"]
    assert rg["props"] == {"DrbdOptions/auto-quorum": "suspend-io"}
    assert double.count("POST", "/v1/nodes") == 4
    assert double.count("POST", re.compile(r"/storage-pools$")) == 8
    assert double.count("POST", "/v1/resource-groups") == 2
    # one full pool list for the run; the rest are filtered re-reads of written nodes
    full_lists = [q for m, p, q in double.requests if m == "GET" and POOL_LIST.match(p) and not q]
    assert len(full_lists) == 1

    double.reset_requests()
    second = apply_high(ls, high)
    assert all(r["result"] is True for r in second.values()), second
    assert {k: r["changes"] for k, r in second.items() if r["changes"]} == {}
    assert double.writes() == []
    assert double.count("GET", POOL_LIST) == 1
    assert double.count("GET", "/v1/nodes") == 1
    assert double.count("GET", "/v1/resource-groups") == 1


def test_property_change_modifies_only_that_key_with_one_put(ls, double):
    high = seed_high(double.url, pool_props={"PrefNic": "default", "Aux/site": "rack1"}, rg=False)
    assert all(r["result"] for r in apply_high(ls, high).values())
    assert double.pools["bravo"]["open_image"]["props"] == {
        "StorDriver/StorPoolName": "linstorpool/thin_image", "PrefNic": "default", "Aux/site": "rack1",
    }

    double.reset_requests()
    res = single(ls, "storage_pool_present", name="open_image", node="bravo", driver="LVM_THIN",
                 driver_pool="linstorpool/thin_image",
                 properties={"PrefNic": "default", "Aux/site": "rack2"}, controllers=double.url)
    assert res["result"] is True, res
    assert res["changes"] == {"properties": {"old": {"Aux/site": "rack1"}, "new": {"Aux/site": "rack2"}}}
    assert double.writes() == [("PUT", "/v1/nodes/bravo/storage-pools/open_image")]
    put_bodies = [b for m, p, b in double.bodies if m == "PUT"]
    assert put_bodies == [{"override_props": {"Aux/site": "rack2"}}]
    assert double.pools["bravo"]["open_image"]["props"]["Aux/site"] == "rack2"
    assert double.pools["alpha"]["open_image"]["props"]["Aux/site"] == "rack1"


def test_delete_properties_removes_only_listed_keys(ls, double):
    double.seed_node("alpha", "10.0.0.1", "COMBINED")
    double.seed_pool("alpha", "open_image", "LVM_THIN",
                     {"StorDriver/StorPoolName": "linstorpool/thin_image", "Aux/old": "x", "Aux/keep": "y"})
    res = single(ls, "storage_pool_present", name="open_image", node="alpha", driver="LVM_THIN",
                 driver_pool="linstorpool/thin_image", delete_properties=["Aux/old", "Aux/never-set"],
                 controllers=double.url)
    assert res["result"] is True, res
    assert res["changes"] == {"properties": {"old": {"Aux/old": "x"}, "new": {"Aux/old": None}}}
    assert [b for m, p, b in double.bodies if m == "PUT"] == [{"delete_props": ["Aux/old"]}]
    assert double.pools["alpha"]["open_image"]["props"] == {
        "StorDriver/StorPoolName": "linstorpool/thin_image", "Aux/keep": "y",
    }


def test_test_mode_reports_and_writes_nothing(ls, double):
    high = seed_high(double.url)
    res = apply_high(ls, high, test=True)
    assert all(r["result"] is None for r in res.values()), res
    assert res["linstor-pool-delta-open_image"]["changes"] == {
        "storage_pool": {"old": None, "new": {"node": "delta", "driver": "LVM_THIN",
                                              "driver_pool": "linstorpool/thin_image"}}
    }
    assert double.writes() == []
    assert double.nodes == {}

    # an existing pool with a differing property: test=True shows the diff, no PUT
    double.seed_node("alpha", "10.0.0.1", "COMBINED")
    double.seed_pool("alpha", "open_image", "LVM_THIN",
                     {"StorDriver/StorPoolName": "linstorpool/thin_image", "PrefNic": "san"})
    double.reset_requests()
    res = single(ls, "storage_pool_present", name="open_image", node="alpha", driver="LVM_THIN",
                 driver_pool="linstorpool/thin_image", properties={"PrefNic": "default"},
                 controllers=double.url, test=True)
    assert res["result"] is None
    assert res["changes"] == {"properties": {"old": {"PrefNic": "san"}, "new": {"PrefNic": "default"}}}
    assert double.writes() == []
    assert double.pools["alpha"]["open_image"]["props"]["PrefNic"] == "san"


@pytest.mark.parametrize(
    "driver,driver_pool,needle",
    [
        ("LVM_THIN", "linstorpool/thin_image", "exists with driver LVM, the state wants LVM_THIN"),
        ("LVM", "otherpool", "exists on backing pool linstorpool, the state wants otherpool"),
    ],
)
def test_driver_or_backing_pool_mismatch_is_refused(ls, double, driver, driver_pool, needle):
    double.seed_node("alpha", "10.0.0.1", "COMBINED")
    double.seed_pool("alpha", "open_image", "LVM", {"StorDriver/StorPoolName": "linstorpool"})
    res = single(ls, "storage_pool_present", name="open_image", node="alpha", driver=driver,
                 driver_pool=driver_pool, controllers=double.url)
    assert res["result"] is False
    assert needle in res["comment"]
    assert "refusing to delete and recreate" in res["comment"]
    assert res["changes"] == {}
    assert double.writes() == []
    assert double.pools["alpha"]["open_image"]["provider_kind"] == "LVM"


def test_pool_on_unregistered_node_fails_with_controller_message(ls, double):
    res = single(ls, "storage_pool_present", name="open_image", node="zulu", driver="lvmthin",
                 driver_pool="linstorpool/thin_image", controllers=double.url)
    assert res["result"] is False
    assert "Node 'zulu' not found" in res["comment"]
    assert double.writes() == [("POST", "/v1/nodes/zulu/storage-pools")]


def test_unknown_driver_is_rejected_before_any_request(ls, double):
    res = single(ls, "storage_pool_present", name="p", node="alpha", driver="btrfs",
                 driver_pool="x", controllers=double.url)
    assert res["result"] is False
    assert "unknown storage pool driver 'btrfs'" in res["comment"]
    assert double.requests == []


def test_node_type_mismatch_refused_and_address_change_modifies_interface(ls, double):
    double.seed_node("bravo", "10.0.0.2", "SATELLITE")
    res = single(ls, "node_present", name="bravo", address="10.0.0.2", node_type="Combined",
                 controllers=double.url)
    assert res["result"] is False
    assert "registered as Satellite, the state wants Combined" in res["comment"]
    assert double.writes() == []

    res = single(ls, "node_present", name="bravo", address="10.0.0.22", controllers=double.url)
    assert res["result"] is True, res
    assert res["changes"] == {"address": {"old": "10.0.0.2", "new": "10.0.0.22"}}
    assert double.writes() == [("PUT", "/v1/nodes/bravo/net-interfaces/default")]
    netif = double.nodes["bravo"]["net_interfaces"][0]
    assert (netif["address"], netif["is_active"]) == ("10.0.0.22", True)


def test_resource_group_change_sends_only_the_differing_field(ls, double):
    assert all(r["result"] for r in apply_high(ls, seed_high(double.url, nodes={}, pools={})).values())
    double.reset_requests()
    res = single(ls, "resource_group_present", name="one_image", place_count=3, storage_pool="open_image",
                 properties={"DrbdOptions/auto-quorum": "suspend-io"}, controllers=double.url)
    assert res["result"] is True, res
    assert res["changes"] == {"place_count": {"old": 2, "new": 3}}
    assert [(m, p, b) for m, p, b in double.bodies if m == "PUT"] == [
        ("PUT", "/v1/resource-groups/one_image", {"select_filter": {"place_count": 3}})
    ]
    assert double.resource_groups["one_image"]["select_filter"]["place_count"] == 3


def test_absent_states_delete_then_are_noops(ls, double):
    assert all(r["result"] for r in apply_high(ls, seed_high(double.url)).values())

    res = single(ls, "storage_pool_absent", name="open_image", node="delta", controllers=double.url)
    assert res["result"] is True and res["changes"]["storage_pool"]["new"] is None
    assert "open_image" not in double.pools["delta"]

    res = single(ls, "resource_group_absent", name="one_system", controllers=double.url)
    assert res["result"] is True and res["changes"]["resource_group"]["old"]["place_count"] == 2
    assert "one_system" not in double.resource_groups

    res = single(ls, "node_absent", name="delta", controllers=double.url)
    assert res["result"] is True
    assert res["changes"] == {"node": {"old": {"address": "10.0.0.4", "node_type": "Satellite"}, "new": None}}
    assert "delta" not in double.nodes and "delta" not in double.pools

    double.reset_requests()
    for fun, kwargs in [("storage_pool_absent", {"name": "open_image", "node": "delta"}),
                        ("resource_group_absent", {"name": "one_system"}),
                        ("node_absent", {"name": "delta"})]:
        res = single(ls, fun, controllers=double.url, **kwargs)
        assert res["result"] is True and res["changes"] == {}, (fun, res)
    assert double.writes() == []


def test_absent_in_test_mode_writes_nothing(ls, double):
    double.seed_node("delta", "10.0.0.4")
    res = single(ls, "node_absent", name="delta", controllers=double.url, test=True)
    assert res["result"] is None and res["changes"]["node"]["new"] is None
    assert double.writes() == [] and "delta" in double.nodes


# --------------------------------------------------------------------------- module
def test_module_cache_one_list_serves_many_reads_and_writes_refresh_only_their_node(ls, double):
    for node, (address, _) in SEED_NODES.items():
        double.seed_node(node, address)
        double.seed_pool(node, "open_image", "LVM_THIN", {"StorDriver/StorPoolName": "linstorpool/thin_image"})
    mod = ls.modules.linstor
    ls.context.clear()
    for node in SEED_NODES:
        assert mod.storage_pool_get(node, "open_image", controllers=double.url)["driver_pool"] == \
            "linstorpool/thin_image"
    assert double.count("GET", POOL_LIST) == 1

    mod.storage_pool_modify("charlie", "open_image", properties={"Aux/x": "1"}, controllers=double.url)
    assert mod.storage_pool_get("charlie", "open_image", controllers=double.url)["properties"]["Aux/x"] == "1"
    assert mod.storage_pool_get("alpha", "open_image", controllers=double.url) is not None
    lists = [q for m, p, q in double.requests if m == "GET" and POOL_LIST.match(p)]
    assert lists == [{}, {"nodes": ["charlie"]}]


def test_module_controller_properties_and_errors(ls, double):
    mod = ls.modules.linstor
    ls.context.clear()
    assert mod.controller_property_get("DrbdOptions/Net/protocol", controllers=double.url) is None
    mod.controller_property_set("DrbdOptions/Net/protocol", "C", controllers=double.url)
    assert mod.controller_property_get("DrbdOptions/Net/protocol", controllers=double.url) == "C"
    assert double.controller_props == {"DrbdOptions/Net/protocol": "C"}
    mod.controller_property_delete("DrbdOptions/Net/protocol", controllers=double.url)
    assert mod.controller_properties(controllers=double.url) == {}

    from salt.exceptions import CommandExecutionError

    mod.node_create("alpha", "10.0.0.1", node_type="Combined", controllers=double.url)
    with pytest.raises(CommandExecutionError, match="A node with the name 'alpha' already exists"):
        mod.node_create("alpha", "10.0.0.1", controllers=double.url)
    with pytest.raises(CommandExecutionError, match="Node 'nope' not found"):
        mod.node_delete("nope", controllers=double.url)


def test_controller_properties_state(ls, double):
    res = single(ls, "controller_properties_present", name="ctrl",
                 properties={"DrbdOptions/Net/protocol": "C"}, controllers=double.url)
    assert res["result"] is True
    assert res["changes"] == {"properties": {"old": {"DrbdOptions/Net/protocol": None},
                                             "new": {"DrbdOptions/Net/protocol": "C"}}}
    double.reset_requests()
    res = single(ls, "controller_properties_present", name="ctrl",
                 properties={"DrbdOptions/Net/protocol": "C"}, controllers=double.url)
    assert res["result"] is True and res["changes"] == {}
    assert double.writes() == []


def test_unreachable_controller_is_a_clear_failure(ls):
    res = single(ls, "node_present", name="alpha", address="10.0.0.1",
                 controllers="linstor://127.0.0.1:9")
    assert res["result"] is False
    assert "cannot connect to controller(s) linstor://127.0.0.1:9" in res["comment"]


# --------------------------------------------------------------------------- scale
def test_scale_200_nodes_x_2_pools_reapply_costs_one_list_per_kind(ls, double):
    nodes = {f"node{i:03d}": (f"10.1.{i // 250}.{i % 250 + 1}", "Satellite") for i in range(200)}
    high = seed_high(double.url, nodes=nodes, rg=False)
    assert len(high) == 600

    first = apply_high(ls, high)
    assert [k for k, r in first.items() if r["result"] is not True] == []
    assert sum(1 for r in first.values() if r["changes"]) == 600
    assert sum(len(p) for p in double.pools.values()) == 600  # 400 + DfltDisklessStorPool each
    full_lists = [q for m, p, q in double.requests if m == "GET" and POOL_LIST.match(p) and not q]
    assert len(full_lists) == 1
    # pool reads after writes are filtered re-reads, never 400 full list downloads
    assert double.count("GET", POOL_LIST) <= 1 + 1 + 400

    double.reset_requests()
    second = apply_high(ls, high)
    assert [k for k, r in second.items() if r["result"] is not True or r["changes"]] == []
    assert double.writes() == []
    assert double.count("GET", POOL_LIST) == 1  # one list serves 400 per-node pool reads
    assert double.count("GET", "/v1/nodes") == 1
    assert double.count("GET", "/v1/controller/version") == 2  # one connect for the whole run
    assert len(double.requests) == 4
