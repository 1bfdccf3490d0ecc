"""_states/linstor.py with a mocked ``__salt__`` (the linstor execution module's functions):
the read -> diff -> test -> act -> verify shape, without any controller."""
from unittest import mock

import pytest
from salt.exceptions import CommandExecutionError

from conftest import load_ext

st = load_ext("states", "linstor")
mod = load_ext("modules", "linstor")

POOL = {
    "name": "open_image", "node": "alpha", "driver": "LVM_THIN", "driver_pool": "linstorpool/thin_image",
    "properties": {"StorDriver/StorPoolName": "linstorpool/thin_image", "PrefNic": "default"},
    "free_capacity": 1, "total_capacity": 2,
}


class Salt(dict):
    """__salt__ with linstor.* mocks; storage_pool_get answers from a list of reads."""

    def __init__(self, reads):
        super().__init__()
        self.reads = list(reads)
        self["linstor.normalize_driver"] = mod.normalize_driver
        self["linstor.storage_pool_get"] = mock.Mock(side_effect=lambda *a, **k: self.reads.pop(0))
        for fun in ("storage_pool_create", "storage_pool_modify", "storage_pool_delete",
                    "node_create", "node_modify", "node_delete", "node_interface_modify",
                    "resource_group_create", "resource_group_modify", "resource_group_delete"):
            self[f"linstor.{fun}"] = mock.Mock(name=fun, return_value=["ok"])

    def writes(self):
        return {k: v.call_args_list for k, v in self.items()
                if isinstance(v, mock.Mock) and not k.endswith("_get") and v.called}


def run(fun, salt, test=False, **kwargs):
    with mock.patch.dict(st.__dict__, {"__salt__": salt, "__opts__": {"test": test}}):
        return getattr(st, fun)(**kwargs)


def with_props(**props):
    pool = dict(POOL)
    pool["properties"] = dict(POOL["properties"], **props)
    return pool


def test_in_desired_state_no_changes_no_writes():
    salt = Salt([POOL])
    ret = run("storage_pool_present", salt, name="open_image", node="alpha", driver="lvmthin",
              driver_pool="linstorpool/thin_image", properties={"PrefNic": "default"})
    assert ret == {"name": "open_image", "result": True, "changes": {},
                   "comment": "Storage pool open_image on alpha is in the desired state"}
    assert salt.writes() == {}


def test_test_mode_returns_diff_and_writes_nothing():
    salt = Salt([POOL])
    ret = run("storage_pool_present", salt, test=True, name="open_image", node="alpha", driver="LVM_THIN",
              driver_pool="linstorpool/thin_image", properties={"PrefNic": "san", "Aux/new": 1})
    assert ret["result"] is None
    assert ret["changes"] == {"properties": {"old": {"PrefNic": "default", "Aux/new": None},
                                             "new": {"PrefNic": "san", "Aux/new": "1"}}}
    assert salt.writes() == {}


def test_modify_sends_only_differing_keys_and_verifies():
    salt = Salt([POOL, with_props(PrefNic="san")])
    ret = run("storage_pool_present", salt, name="open_image", node="alpha", driver="LVM_THIN",
              driver_pool="linstorpool/thin_image", properties={"PrefNic": "san"})
    assert ret["result"] is True
    assert ret["changes"] == {"properties": {"old": {"PrefNic": "default"}, "new": {"PrefNic": "san"}}}
    assert salt.writes() == {"linstor.storage_pool_modify": [mock.call(
        "alpha", "open_image", properties={"PrefNic": "san"}, delete_properties=[], controllers=None)]}


def test_verification_failure_is_reported():
    salt = Salt([POOL, POOL])  # the controller accepted the PUT but the value did not change
    ret = run("storage_pool_present", salt, name="open_image", node="alpha", driver="LVM_THIN",
              driver_pool="linstorpool/thin_image", properties={"PrefNic": "san"})
    assert ret["result"] is False
    assert ret["comment"].startswith("verification failed: still differs after apply: ")
    assert "'PrefNic': 'san'" in ret["comment"]
    assert ret["changes"] == {}


def test_create_passes_everything_in_one_call():
    created = dict(POOL, properties={"StorDriver/StorPoolName": "linstorpool/thin_image", "PrefNic": "default"})
    salt = Salt([None, created])
    ret = run("storage_pool_present", salt, name="open_image", node="alpha", driver="lvmthin",
              driver_pool="linstorpool/thin_image", properties={"PrefNic": "default"}, controllers="c1")
    assert ret["result"] is True
    assert ret["changes"] == {"storage_pool": {"old": None, "new": {
        "node": "alpha", "driver": "LVM_THIN", "driver_pool": "linstorpool/thin_image",
        "properties": {"PrefNic": "default"}}}}
    assert salt.writes() == {"linstor.storage_pool_create": [mock.call(
        "alpha", "open_image", "LVM_THIN", driver_pool="linstorpool/thin_image",
        properties={"PrefNic": "default"}, controllers="c1")]}


@pytest.mark.parametrize("driver,driver_pool", [("LVM", "linstorpool"), ("LVM_THIN", "linstorpool/thin_system")])
def test_identity_mismatch_never_writes(driver, driver_pool):
    salt = Salt([POOL])
    ret = run("storage_pool_present", salt, name="open_image", node="alpha", driver=driver,
              driver_pool=driver_pool, properties={"PrefNic": "san"})
    assert ret["result"] is False
    assert "refusing to delete and recreate it" in ret["comment"]
    assert salt.writes() == {}


def test_diskless_pool_needs_no_driver_pool():
    diskless = {"name": "dl", "node": "alpha", "driver": "DISKLESS", "driver_pool": None, "properties": {}}
    salt = Salt([diskless])
    ret = run("storage_pool_present", salt, name="dl", node="alpha", driver="diskless")
    assert ret["result"] is True and ret["changes"] == {}


def test_thick_driver_without_driver_pool_is_refused():
    salt = Salt([])
    ret = run("storage_pool_present", salt, name="p", node="alpha", driver="lvmthin")
    assert ret["result"] is False
    assert ret["comment"] == "driver LVM_THIN needs driver_pool (e.g. linstorpool/thin_image)"


def test_module_errors_become_failed_results():
    salt = Salt([])
    salt["linstor.storage_pool_get"] = mock.Mock(side_effect=CommandExecutionError("linstor: boom"))
    ret = run("storage_pool_present", salt, name="p", node="alpha", driver="LVM", driver_pool="vg")
    assert ret == {"name": "p", "result": False, "changes": {}, "comment": "linstor: boom"}


def test_resource_group_storage_pool_compared_as_a_set():
    salt = Salt([])
    current = {"name": "rg", "description": "", "place_count": 2, "storage_pool": ["a", "b"],
               "diskless_on_remaining": False, "properties": {}}
    salt["linstor.resource_group_get"] = mock.Mock(return_value=current)
    ret = run("resource_group_present", salt, name="rg", place_count=2, storage_pool=["b", "a"])
    assert ret["result"] is True and ret["changes"] == {}
    ret = run("resource_group_present", salt, name="rg", storage_pool="b,a", diskless_on_remaining=False)
    assert ret["result"] is True and ret["changes"] == {}
    assert salt.writes() == {}


def test_node_present_test_mode_on_a_new_node():
    salt = Salt([])
    salt["linstor.node_get"] = mock.Mock(return_value=None)
    ret = run("node_present", salt, test=True, name="alpha", address="10.0.0.1", node_type="combined")
    assert ret["result"] is None
    assert ret["changes"] == {"node": {"old": None, "new": {
        "address": "10.0.0.1", "node_type": "Combined", "comm_type": "Plain"}}}
    assert salt.writes() == {}


def test_node_present_rejects_unknown_type_without_reading():
    salt = Salt([])
    salt["linstor.node_get"] = mock.Mock()
    ret = run("node_present", salt, name="alpha", address="10.0.0.1", node_type="Hypervisor")
    assert ret["result"] is False
    assert ret["comment"] == "node_type 'Hypervisor' is invalid; allowed: Controller, Satellite, Combined, Auxiliary"
    salt["linstor.node_get"].assert_not_called()
