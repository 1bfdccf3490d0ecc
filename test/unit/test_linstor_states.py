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


# --------------------------------------------------------------------------- engine
STATE_ARGS = {
    "node_present": {"name": "n", "address": "a"},
    "node_absent": {"name": "n"},
    "storage_pool_present": {"name": "p", "node": "n", "driver": "lvm"},
    "storage_pool_absent": {"name": "p", "node": "n"},
    "resource_group_present": {"name": "rg"},
    "resource_group_absent": {"name": "rg"},
    "controller_properties_present": {"name": "c"},
}


def test_every_state_is_one_engine_run():
    public = sorted(f for f, v in vars(st).items() if callable(v) and not f.startswith("_")
                    and getattr(v, "__module__", None) == st.__name__)
    assert public == sorted(STATE_ARGS)
    for fun, kwargs in STATE_ARGS.items():
        sentinel = {"returned by": "ohaf_state.run"}
        run_ = mock.create_autospec(lambda name, **kw: None, return_value=sentinel)
        salt = mock.MagicMock(name="__salt__")
        with mock.patch.dict(st.__dict__, {"__salt__": salt, "__opts__": {"test": False},
                                           "__utils__": {"ohaf_state.run": run_}}):
            assert getattr(st, fun)(**kwargs) is sentinel, fun
        run_.assert_called_once()
        assert salt.mock_calls == [], fun  # nothing is read or written outside the closures


def test_absent_verification_failure_reports_the_object_still_listed():
    salt = Salt([POOL, POOL])
    ret = run("storage_pool_absent", salt, name="open_image", node="alpha")
    assert ret == {"name": "open_image", "result": False, "changes": {},
                   "comment": "verification failed: storage pool open_image on alpha is still listed"}
    assert list(salt.writes()) == ["linstor.storage_pool_delete"]


def test_absent_comments():
    salt = Salt([POOL, None, None])
    ret = run("storage_pool_absent", salt, test=True, name="open_image", node="alpha")
    assert (ret["result"], ret["comment"]) == (None, "Storage pool open_image on alpha would be deleted")
    assert ret["changes"] == {"storage_pool": {"old": {
        "node": "alpha", "driver": "LVM_THIN", "driver_pool": "linstorpool/thin_image"}, "new": None}}
    ret = run("storage_pool_absent", salt, name="open_image", node="alpha")
    assert ret == {"name": "open_image", "result": True, "changes": {},
                   "comment": "Storage pool open_image on alpha is already absent"}


SECRET = "DrbdOptions/Net/shared-secret"


def test_secret_property_values_are_hidden_in_changes_and_comments():
    salt = Salt([POOL, POOL, POOL])
    kwargs = dict(name="open_image", node="alpha", driver="LVM_THIN",
                  driver_pool="linstorpool/thin_image", properties={SECRET: "s3cr3t", "PrefNic": "san"})
    ret = run("storage_pool_present", salt, test=True, **kwargs)
    assert ret["changes"] == {"properties": {"old": {SECRET: None, "PrefNic": "default"},
                                             "new": {SECRET: "<hidden>", "PrefNic": "san"}}}
    ret = run("storage_pool_present", salt, **kwargs)  # the write does not take: verification fails
    assert ret["comment"].startswith("verification failed: still differs after apply: ")
    assert "s3cr3t" not in repr(ret) and "'PrefNic': 'san'" in ret["comment"]


def test_controller_properties_set_and_delete_per_key():
    salt = Salt([])
    reads = [{"a": "1", "b": "2"}, {"a": "9"}]
    salt["linstor.controller_properties"] = mock.Mock(side_effect=lambda **k: reads.pop(0))
    for fun in ("controller_property_set", "controller_property_delete"):
        salt[f"linstor.{fun}"] = mock.Mock(name=fun, return_value=["ok"])
    ret = run("controller_properties_present", salt, name="ctrl", properties={"a": 9},
              delete_properties=["b", "c"], controllers="c1")
    assert ret == {"name": "ctrl", "result": True, "comment": "Controller properties modified",
                   "changes": {"properties": {"old": {"a": "1", "b": "2"}, "new": {"a": "9", "b": None}}}}
    assert salt["linstor.controller_properties"].call_count == 2  # read, re-read
    del salt["linstor.controller_properties"]
    assert salt.writes() == {
        "linstor.controller_property_set": [mock.call("a", "9", controllers="c1")],
        "linstor.controller_property_delete": [mock.call("b", controllers="c1")]}
