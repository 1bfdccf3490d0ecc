"""_utils/ohaf_linstor.py: the pure logic of the linstor module and states (controller list,
names, parsing of python-linstor's response objects built from the REST v1 bodies in
test/fixtures/linstor/, property and object diffs), through ``__utils__`` as Salt gives it."""
import json
import pathlib

import linstor
import pytest
from linstor.responses import StoragePoolListResponse
from salt.exceptions import CommandExecutionError

from conftest import UTILS

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "linstor"


def u(fun):
    return UTILS[f"ohaf_linstor.{fun}"]


def test_controller_source_first_hit_wins(tmp_path):
    conf = tmp_path / "linstor-client.conf"
    conf.write_text("[global]\ncontrollers = 10.0.0.9\n")
    src = u("controller_source")
    assert src(["a", " b ", ""], "env", str(conf)) == "a,b"
    assert src(None, " 10.0.0.1, 10.0.0.2 ", str(conf)) == "10.0.0.1,10.0.0.2"
    assert src("", "", str(conf)) == "10.0.0.9"
    assert src(None, None, str(tmp_path / "missing.conf")) == "linstor://localhost"


def test_names():
    assert u("normalize_driver")("Zfs-Thin") == "ZFS_THIN"
    assert u("normalize_driver")("storage_spaces", ["STORAGE_SPACES"]) == "STORAGE_SPACES"
    with pytest.raises(CommandExecutionError, match="a storage pool driver is required"):
        u("normalize_driver")(None)
    assert u("node_type")("COMBINED") == "Combined" and u("comm_type")("ssl") == "SSL"
    with pytest.raises(CommandExecutionError, match="^x 'Plain' y Controller, Satellite"):
        u("node_type")("Plain", "x '{value}' y {allowed}")
    assert u("str_props")({"a": True, "b": False, 3: 4}) == {"a": "true", "b": "false", "3": "4"}
    with pytest.raises(CommandExecutionError, match="properties must be a mapping"):
        u("str_props")(["a"])
    assert u("pool_list")("b, a,,") == ["b", "a"]
    assert u("pool_list")(["b", "a"], sort=True) == ["a", "b"]
    assert u("pool_list")(None) is None


def test_pool_parsing_uses_the_given_driver_pool_function():
    body = json.loads((FIX / "storage_pools.json").read_text())
    pools = StoragePoolListResponse(body).storage_pools
    seen = []

    def driver_pool_of(kind, props):
        seen.append(kind)
        return linstor.StoragePoolDriver.storage_props_to_driver_pool(kind, props)

    parsed = {(p["node"], p["name"]): p for p in (u("pool_dict")(x, driver_pool_of) for x in pools)}
    assert parsed[("alpha", "open_system")]["driver_pool"] == "linstorpool/thin_system"
    assert "DISKLESS" not in seen  # a diskless pool has no backing pool to look up


def test_reply_errors_join_message_cause_and_details():
    ok = linstor.ApiCallResponse({"ret_code": 0x140000 | 0x2000000 | 3, "message": "modified"})
    err = linstor.ApiCallResponse({
        "ret_code": (0xC000000000000000 | 0x140000 | 0x2000000 | 310) - (1 << 64),
        "message": "Storage pool 'x' not found.", "cause": "gone", "details": "see log"})
    assert u("reply_errors")([ok]) == []
    assert u("reply_errors")([ok, err]) == ["Storage pool 'x' not found. (gone) see log"]


def test_merge_fresh_replaces_written_names_case_insensitively():
    have = {"One_Image": {"place_count": 2}, "other": {"place_count": 1}}
    out = u("merge_fresh")(have, {"one_image": {"place_count": 3}}, {"ONE_IMAGE", "gone"})
    assert out is have
    assert have == {"other": {"place_count": 1}, "one_image": {"place_count": 3}}


def test_props_diff_names_only_the_given_keys():
    current = {"StorDriver/StorPoolName": "vg/thin", "PrefNic": "default", "Aux/old": "x"}
    diff = u("props_diff")(current, {"PrefNic": "default", "Aux/flag": True},
                           ["Aux/old", "Aux/never-set"])
    assert diff == {"old": {"Aux/flag": None, "Aux/old": "x"},
                    "new": {"Aux/flag": "true", "Aux/old": None}}
    assert u("props_split")(diff) == ({"Aux/flag": "true"}, ["Aux/old"])
    assert u("props_diff")(current, {"PrefNic": "default"}, None) == {}
    assert u("props_split")({}) == ({}, [])


def test_node_want_diff_and_refusal():
    want = u("node_want")("10.0.0.2", "satellite", "3366", "plain", {"Aux/site": "rack1"}, None)
    assert (want["node_type"], want["comm_type"], want["port"]) == ("Satellite", "Plain", 3366)
    with pytest.raises(CommandExecutionError, match="^comm_type 'tls' is invalid; allowed: Plain, SSL$"):
        u("node_want")("10.0.0.2", "Satellite", None, "tls", None, None)
    current = {"node_type": "Satellite", "address": "10.0.0.2", "port": 3366, "comm_type": "PLAIN",
               "properties": {"Aux/site": "rack2"}}
    assert u("node_diff")(current, want) == {
        "properties": {"old": {"Aux/site": "rack2"}, "new": {"Aux/site": "rack1"}}}
    assert u("node_problem")("bravo", current, want) is None
    refusal = u("node_problem")("bravo", dict(current, node_type="Combined"), want)
    assert refusal.startswith("Node bravo is registered as Combined, the state wants Satellite; ")
    assert u("node_new")(want) == {"address": "10.0.0.2", "node_type": "Satellite",
                                   "comm_type": "Plain", "port": 3366,
                                   "properties": {"Aux/site": "rack1"}}


def test_pool_want_and_problems():
    with pytest.raises(CommandExecutionError, match="^driver ZFS needs driver_pool"):
        u("pool_want")("alpha", "ZFS", None, None, None)
    diskless = u("pool_want")("alpha", "DISKLESS", "ignored", None, None)
    assert diskless["driver_pool"] is None
    assert u("pool_new")(diskless) == {"node": "alpha", "driver": "DISKLESS", "driver_pool": None}
    # a diskless pool has no backing pool to compare
    assert u("pool_problem")("dl", {"driver": "DISKLESS", "driver_pool": "x"}, diskless) is None
    want = u("pool_want")("alpha", "LVM_THIN", "vg/thin", None, None)
    problem = u("pool_problem")("p", {"driver": "LVM_THIN", "driver_pool": "vg/other"}, want)
    assert problem.startswith("Storage pool p on node alpha exists on backing pool vg/other, "
                              "the state wants vg/thin; refusing to delete and recreate it")


def test_resource_group_diff_and_modify_args():
    current = {"name": "rg", "description": "", "place_count": 2, "storage_pool": ["b", "a"],
               "diskless_on_remaining": False, "properties": {"Aux/x": "1"}}
    want = u("rg_want")(3, "a,b", None, "", {"Aux/x": 1}, ["Aux/gone"])
    changes = u("rg_diff")(current, want)
    assert changes == {"place_count": {"old": 2, "new": 3}}
    assert u("rg_modify_args")(changes) == {
        "place_count": 3, "storage_pool": None, "diskless_on_remaining": None,
        "description": None, "properties": {}, "delete_properties": []}
    want = u("rg_want")(None, ["c"], True, "images", {"Aux/y": 2}, None)
    assert u("rg_new")(want) == {"storage_pool": ["c"], "diskless_on_remaining": True,
                                 "description": "images", "properties": {"Aux/y": "2"}}
    changes = u("rg_diff")(current, want)
    assert set(changes) == {"storage_pool", "diskless_on_remaining", "description", "properties"}
    assert u("rg_modify_args")(changes)["properties"] == {"Aux/y": "2"}
