"""_modules/linstor.py with mocked dunders: controller resolution, driver names, parsing of
REST v1 list bodies (test/fixtures/linstor/*.json, see its README for provenance) through
python-linstor's own response classes, and the per-run read cache."""
import json
import pathlib
from unittest import mock

import linstor
import pytest
from linstor.responses import NodeListResponse, ResourceGroupResponse, StoragePoolListResponse
from salt.exceptions import CommandExecutionError

from conftest import UTILS, load_ext

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "linstor"
mod = load_ext("modules", "linstor")
REAL_URI_LIST = linstor.MultiLinstor.controller_uri_list


def fixture(name):
    return json.loads((FIX / name).read_text())


@pytest.fixture
def configure_loader_modules():
    return {mod: {"__context__": {}, "__opts__": {"test": False}, "__utils__": UTILS}}


@pytest.fixture
def conf(tmp_path, monkeypatch):
    """Point the module at a private client conf; no LS_CONTROLLERS from the caller's env."""
    path = tmp_path / "linstor-client.conf"
    monkeypatch.setattr(mod, "CLIENT_CONF", str(path))
    monkeypatch.delenv("LS_CONTROLLERS", raising=False)
    return path


# --------------------------------------------------------------------------- loading
def test_module_uses_the_python_linstor_library_not_itself():
    assert mod.__name__ != "linstor"
    assert mod.linstor is linstor
    assert mod.__virtual__() == "linstor"


def test_virtual_refuses_without_the_library(monkeypatch):
    monkeypatch.setattr(mod, "HAS_LINSTOR", False)
    assert mod.__virtual__() == (False, "linstor: python-linstor (import linstor) is not installed")


# --------------------------------------------------------------------------- controllers
def test_resolution_argument_wins_over_everything(conf, monkeypatch):
    conf.write_text("[global]\ncontrollers = conf-ctrl\n")
    monkeypatch.setenv("LS_CONTROLLERS", "env-ctrl")
    assert mod.resolve_controllers("arg-a,linstor+ssl://arg-b:3371") == [
        "linstor://arg-a", "linstor+ssl://arg-b:3371",
    ]
    assert mod.resolve_controllers(["arg-a", "arg-b"]) == ["linstor://arg-a", "linstor://arg-b"]


def test_resolution_env_beats_client_conf(conf, monkeypatch):
    conf.write_text("[global]\ncontrollers = conf-ctrl\n")
    monkeypatch.setenv("LS_CONTROLLERS", "10.0.0.1, 10.0.0.2")
    assert mod.resolve_controllers() == ["linstor://10.0.0.1", "linstor://10.0.0.2"]


def test_resolution_client_conf_beats_localhost(conf):
    conf.write_text("[global]\ncontrollers = 10.0.0.1,linstor://10.0.0.9:3370\n")
    assert mod.resolve_controllers() == ["linstor://10.0.0.1", "linstor://10.0.0.9:3370"]


def test_resolution_falls_back_to_localhost(conf):
    assert mod.resolve_controllers() == ["linstor://localhost"]
    conf.write_text("[global]\nsomething = else\n")
    assert mod.resolve_controllers() == ["linstor://localhost"]
    assert mod.resolve_controllers("") == ["linstor://localhost"]


def test_broken_client_conf_is_a_clear_error(conf):
    conf.write_text("controllers = no section header\n")
    with pytest.raises(CommandExecutionError, match="cannot parse .*linstor-client.conf"):
        mod.resolve_controllers()


# --------------------------------------------------------------------------- drivers
@pytest.mark.parametrize(
    "given,kind",
    [("lvmthin", "LVM_THIN"), ("LVM_THIN", "LVM_THIN"), ("lvm-thin", "LVM_THIN"), ("LvmThin", "LVM_THIN"),
     ("lvm", "LVM"), ("zfsthin", "ZFS_THIN"), ("ZFS", "ZFS"), ("filethin", "FILE_THIN"),
     ("diskless", "DISKLESS")],
)
def test_normalize_driver(given, kind):
    assert mod.normalize_driver(given) == kind


def test_unknown_driver_lists_the_allowed_ones():
    with pytest.raises(CommandExecutionError, match=r"unknown storage pool driver 'btrfs'; allowed: .*LVM_THIN"):
        mod.normalize_driver("btrfs")


# --------------------------------------------------------------------------- parsing
def test_storage_pool_parsing_from_rest_bodies():
    pools = {(p.node_name, p.name): mod._pool_dict(p)
             for p in StoragePoolListResponse(fixture("storage_pools.json")).storage_pools}
    assert pools[("alpha", "open_image")] == {
        "name": "open_image", "node": "alpha", "driver": "LVM_THIN",
        "driver_pool": "linstorpool/thin_image",
        "properties": {"StorDriver/StorPoolName": "linstorpool/thin_image",
                       "StorDriver/internal/AllocationGranularity": "64"},
        "free_capacity": 102760448, "total_capacity": 104857600,
    }
    # pre-API-1.2.0 controllers keep VG and thin pool in two props
    assert pools[("bravo", "open_image")]["driver_pool"] == "linstorpool/thin_image"
    assert pools[("bravo", "open_image")]["free_capacity"] is None
    assert pools[("bravo", "zpool_thin")]["driver_pool"] == "tank/linstor"
    assert pools[("alpha", "DfltDisklessStorPool")]["driver"] == "DISKLESS"
    assert pools[("alpha", "DfltDisklessStorPool")]["driver_pool"] is None


def test_node_parsing_reports_title_case_types():
    nodes = {n.name: UTILS["ohaf_linstor.node_dict"](n) for n in NodeListResponse(fixture("nodes.json")).nodes}
    assert nodes["alpha"]["node_type"] == "Combined"
    assert nodes["bravo"] == {
        "name": "bravo", "node_type": "Satellite", "address": "10.0.0.2", "port": 3366,
        "comm_type": "Plain", "interface": "default", "connection_status": "OFFLINE",
        "properties": {"CurStltConnName": "default", "NodeUname": "bravo", "Aux/site": "rack1"},
        "flags": [],
    }


def test_resource_group_parsing():
    rgs = {r.name: UTILS["ohaf_linstor.rg_dict"](r) for r in ResourceGroupResponse(fixture("resource_groups.json")).resource_groups}
    assert rgs["one_image"] == {
        "name": "one_image", "description": "OpenNebula image datastore", "place_count": 2,
        "storage_pool": ["open_image"], "diskless_on_remaining": False,
        "properties": {"DrbdOptions/auto-quorum": "suspend-io"},
    }
    assert rgs["DfltRscGrp"]["place_count"] is None and rgs["DfltRscGrp"]["storage_pool"] == []


# --------------------------------------------------------------------------- cache
@pytest.fixture
def client(conf):
    fake = mock.MagicMock(name="MultiLinstor")
    fake.connected = True
    fake.storage_pool_list_raise.return_value = StoragePoolListResponse(fixture("storage_pools.json"))
    fake.node_list_raise.return_value = NodeListResponse(fixture("nodes.json"))
    ok = linstor.ApiCallResponse({"ret_code": 0x140000 | 0x2000000 | 3, "message": "modified"})
    fake.storage_pool_modify.return_value = [ok]
    with mock.patch.object(mod.linstor, "MultiLinstor") as cls:
        cls.return_value = fake
        cls.controller_uri_list = REAL_URI_LIST
        yield fake


def test_one_list_serves_every_per_node_read(client):
    assert mod.storage_pool_get("alpha", "open_image")["driver_pool"] == "linstorpool/thin_image"
    assert mod.storage_pool_get("bravo", "open_image")["driver_pool"] == "linstorpool/thin_image"
    assert mod.storage_pool_get("bravo", "missing") is None
    assert set(mod.storage_pool_list(node="alpha")) == {"DfltDisklessStorPool", "open_image", "open_system"}
    assert client.storage_pool_list_raise.call_args_list == [mock.call(filter_by_nodes=None)]
    assert client.connect.call_count == 1
    assert mod.linstor.MultiLinstor.call_args == mock.call(["linstor://localhost"], timeout=60, keep_alive=True)


def test_a_write_refreshes_only_the_written_node(client):
    mod.storage_pool_get("alpha", "open_image")
    assert mod.storage_pool_modify("alpha", "open_image", properties={"PrefNic": "san"}) == ["modified"]
    client.storage_pool_modify.assert_called_once_with("alpha", "open_image", {"PrefNic": "san"}, delete_props=None)
    mod.storage_pool_get("bravo", "open_image")
    assert client.storage_pool_list_raise.call_args_list == [
        mock.call(filter_by_nodes=None), mock.call(filter_by_nodes=["alpha"]),
    ]


def test_api_errors_become_command_execution_errors(client):
    err = linstor.ApiCallResponse({
        "ret_code": (0xC000000000000000 | 0x140000 | 0x2000000 | 310) - (1 << 64),  # signed, as on the wire
        "message": "Storage pool 'x' on node 'alpha' not found.",
        "cause": "gone",
    })
    client.storage_pool_modify.return_value = [err]
    with pytest.raises(CommandExecutionError,
                       match=r"storage pool modify alpha/x failed: Storage pool 'x' on node 'alpha' not found. \(gone\)"):
        mod.storage_pool_modify("alpha", "x", properties={"a": "b"})


def test_empty_modify_sends_nothing(client):
    assert mod.storage_pool_modify("alpha", "open_image", properties={}) == []
    client.storage_pool_modify.assert_not_called()


def test_yaml_booleans_become_linstor_strings(client):
    mod.storage_pool_modify("alpha", "open_image", properties={"Aux/flag": True, "Aux/n": 3})
    client.storage_pool_modify.assert_called_once_with(
        "alpha", "open_image", {"Aux/flag": "true", "Aux/n": "3"}, delete_props=None)


def test_connect_failure_names_the_controllers(conf):
    with mock.patch.object(mod.linstor, "MultiLinstor") as cls:
        cls.controller_uri_list = REAL_URI_LIST
        cls.return_value.connected = False
        cls.return_value.connect.side_effect = linstor.LinstorNetworkError("refused")
        with pytest.raises(CommandExecutionError,
                           match=r"cannot connect to controller\(s\) linstor://c1, linstor://c2: .*refused"):
            mod.node_list(controllers="c1,c2")


def test_secret_property_values_never_reach_the_error(client):
    err = linstor.ApiCallResponse({
        "ret_code": (0xC000000000000000 | 0x140000 | 0x2000000 | 998) - (1 << 64),
        "message": "Invalid value 's3cr3t' for DrbdOptions/Net/shared-secret"})
    client.storage_pool_modify.return_value = [err]
    with pytest.raises(CommandExecutionError) as exc:
        mod.storage_pool_modify("alpha", "open_image",
                                properties={"DrbdOptions/Net/shared-secret": "s3cr3t"})
    assert "s3cr3t" not in str(exc.value) and "Invalid value '<hidden>'" in str(exc.value)
    client.controller_set_prop.side_effect = linstor.LinstorError("bad value s3cr3t")
    with pytest.raises(CommandExecutionError) as exc:
        mod.controller_property_set("DrbdOptions/Net/shared-secret", "s3cr3t")
    assert str(exc.value) == ("linstor: controller set-property DrbdOptions/Net/shared-secret "
                              "failed: Error: bad value <hidden>")


def test_a_failed_write_still_invalidates_what_it_touched(client):
    mod.storage_pool_get("alpha", "open_image")
    client.storage_pool_delete.side_effect = linstor.LinstorNetworkError("reset by peer")
    with pytest.raises(CommandExecutionError, match="storage pool delete alpha/open_image failed"):
        mod.storage_pool_delete("alpha", "open_image")
    mod.storage_pool_get("alpha", "open_image")
    assert client.storage_pool_list_raise.call_args_list == [
        mock.call(filter_by_nodes=None), mock.call(filter_by_nodes=["alpha"])]
    mod.invalidate()
    mod.storage_pool_get("alpha", "open_image")
    assert client.storage_pool_list_raise.call_args_list[-1] == mock.call(filter_by_nodes=None)
