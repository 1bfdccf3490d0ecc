"""_states/one.py with __salt__ mocked (the template helpers are the real module's)."""
from unittest.mock import MagicMock

import pytest
from conftest import UTILS, load_ext
from salt.exceptions import CommandExecutionError

one_mod = load_ext("modules", "one")
one_state = load_ext("states", "one")

TEMPLATE = {"TYPE": "SYSTEM_DS", "TM_MAD": "linstor", "BRIDGE_LIST": "a b"}
CONN = {"endpoint": "http://127.0.0.1:2633/RPC2", "one_auth_file": "/var/lib/one/.one/one_auth"}


def _ds(**template):
    tmpl = dict({"TYPE": "SYSTEM_DS", "TM_MAD": "linstor", "BRIDGE_LIST": "a b",
                 "SHARED": "YES"}, **template)
    return {"id": 100, "name": "sys", "type": "SYSTEM_DS", "ds_mad": "-", "tm_mad": "linstor",
            "clusters": [0], "images": [], "template": tmpl}


@pytest.fixture
def salt_mock():
    return {
        "one.normalize_template": one_mod.normalize_template,
        "one.template_diff": one_mod.template_diff,
        "one.datastore_info": MagicMock(),
        "one.datastore_allocate": MagicMock(return_value=100),
        "one.datastore_update": MagicMock(return_value=100),
        "one.lookup_id": MagicMock(return_value=None),
    }


@pytest.fixture
def configure_loader_modules(salt_mock):
    return {one_state: {"__salt__": salt_mock, "__opts__": {"test": False}, "__utils__": UTILS}}


def test_execution_error_becomes_result_false(salt_mock):
    salt_mock["one.datastore_info"].side_effect = CommandExecutionError(
        "one: cannot reach oned at http://127.0.0.1:2633/RPC2: connection refused "
        "(one.datastorepool.info)")
    ret = one_state.datastore_present("sys", TEMPLATE, **CONN)
    assert ret == {"name": "sys", "result": False, "changes": {},
                   "comment": "one: cannot reach oned at http://127.0.0.1:2633/RPC2: "
                              "connection refused (one.datastorepool.info)"}
    assert salt_mock["one.datastore_info"].call_args.kwargs == dict(CONN, cache=True)


def test_test_mode_reads_but_never_writes(salt_mock):
    salt_mock["one.datastore_info"].return_value = None
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(one_state.__opts__, "test", True)
        ret = one_state.datastore_present("sys", TEMPLATE, **CONN)
    assert ret["result"] is None
    assert ret["changes"]["old"] is None
    salt_mock["one.datastore_allocate"].assert_not_called()
    salt_mock["one.datastore_update"].assert_not_called()


def test_verification_failure_is_reported(salt_mock):
    # oned accepted the update but still reports the old value
    salt_mock["one.datastore_info"].return_value = _ds()
    ret = one_state.datastore_present("sys", dict(TEMPLATE, BRIDGE_LIST="a b c"), **CONN)
    assert ret["result"] is False
    assert ret["comment"] == "verification failed: datastore sys still differs in ['BRIDGE_LIST']"
    # only the differing attribute, normalised once by the state and sent as template text
    salt_mock["one.datastore_update"].assert_called_once_with(
        100, 'BRIDGE_LIST = "a b c"\n', merge=True, cache=True, **CONN)


def test_no_change_has_empty_changes(salt_mock):
    salt_mock["one.datastore_info"].return_value = _ds()
    ret = one_state.datastore_present("sys", {"type": "system_ds", "tm_mad": "linstor",
                                              "bridge_list": ["a", "b"]}, **CONN)
    assert ret == {"name": "sys", "result": True, "changes": {},
                   "comment": "datastore sys (id 100) is in the desired state"}


def test_bad_template_fails_without_reading(salt_mock):
    ret = one_state.datastore_present("sys", {"NAME": "other", "TM_MAD": "x"}, **CONN)
    assert ret["result"] is False and "must not contain NAME" in ret["comment"]
    ret = one_state.datastore_present("sys", {"A": None}, **CONN)
    assert ret["result"] is False and "has no value" in ret["comment"]
    salt_mock["one.datastore_info"].assert_not_called()


def test_unknown_cluster(salt_mock):
    ret = one_state.datastore_present("sys", TEMPLATE, cluster="prod", **CONN)
    assert ret["result"] is False and ret["comment"] == "cluster 'prod' does not exist"
    salt_mock["one.datastore_allocate"].assert_not_called()


def test_active_vip_guard_skips_elsewhere_and_checks_once_per_run(salt_mock):
    # not the active front-end: result True, nothing read from oned
    salt_mock["one.vip_local"] = MagicMock(return_value=False)
    ret = one_state.datastore_present("sys", TEMPLATE, active_vip="192.168.100.10", **CONN)
    assert ret["result"] is True and ret["changes"] == {}
    assert "not the active front-end" in ret["comment"]
    assert salt_mock["one.vip_local"].call_args.args == ("192.168.100.10",)
    assert salt_mock["one.vip_local"].call_args.kwargs == {"cache": True}
    salt_mock["one.datastore_info"].assert_not_called()
    # the active one: the argument is consumed (never passed on as a connection argument)
    salt_mock["one.vip_local"].return_value = True
    salt_mock["one.datastore_info"].return_value = _ds()
    ret = one_state.datastore_present("sys", TEMPLATE, active_vip="192.168.100.10", **CONN)
    assert ret["result"] is True and ret["changes"] == {}
    assert salt_mock["one.datastore_info"].call_args.kwargs == dict(CONN, cache=True)


# ------------------------------------------------------------------ raft bootstrap
@pytest.mark.parametrize("test", [True, False])
def test_raft_bootstrapped_only_on_a_fresh_database(salt_mock, test):
    boot = MagicMock(return_value={"bootstrapped": True, "version": "6.10.5", "waited": 7.9})
    salt_mock.update({"one.db_bootstrapped": MagicMock(side_effect=[False, True]),
                      "one.raft_bootstrap": boot})
    one_state.__opts__["test"] = test
    try:
        ret = one_state.raft_bootstrapped("/etc/one/oned.conf", **CONN)
    finally:
        one_state.__opts__["test"] = False
    assert ret["changes"] == {"bootstrapped": {"old": False, "new": True}}
    assert ret["result"] is (None if test else True)
    assert boot.called is (not test)


def test_raft_bootstrapped_nothing_to_do_and_verification(salt_mock):
    boot = MagicMock(return_value={"bootstrapped": True, "version": "6.10.5", "waited": 1})
    salt_mock.update({"one.db_bootstrapped": MagicMock(return_value=True),
                      "one.raft_bootstrap": boot})
    ret = one_state.raft_bootstrapped("/etc/one/oned.conf", **CONN)
    assert (ret["result"], ret["changes"], boot.called) == (True, {}, False)
    salt_mock["one.db_bootstrapped"] = MagicMock(return_value=False)
    ret = one_state.raft_bootstrapped("/etc/one/oned.conf", **CONN)
    assert ret["result"] is False and ret["comment"].startswith("verification failed")


def test_template_normalised_once_and_sent_as_text(salt_mock):
    """state -> module -> oned: the pillar's template is normalised once (by the state) and
    allocate gets the rendered text, which the module passes on as is."""
    seen = []
    utils = dict(UTILS)
    utils["ohaf_one_template.normalize"] = lambda t: seen.append(t) or \
        UTILS["ohaf_one_template.normalize"](t)
    salt_mock["one.datastore_info"].side_effect = [None, _ds()]
    template = {"type": "system_ds", "tm_mad": "linstor", "bridge_list": ["a", "b"]}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(one_state, "__utils__", utils)
        ret = one_state.datastore_present("sys", template, **CONN)
    assert (ret["result"], ret["comment"]) == (True, "datastore sys created (id 100)")
    assert seen == [template]
    salt_mock["one.datastore_allocate"].assert_called_once_with(
        "sys", 'TYPE = "SYSTEM_DS"\nTM_MAD = "linstor"\nBRIDGE_LIST = "a b"\n', cluster_id=-1,
        cache=True, **CONN)


# ------------------------------------------------------------------ database replication
REPL = {"user": "replicator", "password": "pw'with\"quotes", "wait": 30,
        "socket": "/run/mysqld/mysqld.sock"}
STARTED = {"master_host": "192.168.100.12", "master_log_file": "bin.000002",
           "master_log_pos": 1234}


def _repl(salt_mock, configured, pending=True):
    salt_mock.update({
        "one.db_replica_configured": MagicMock(side_effect=configured),
        "one.db_replication_pending": MagicMock(return_value=pending),
        "one.db_replication_start": MagicMock(return_value=STARTED)})
    return salt_mock


def test_db_replication_started_once_at_the_peers_position(salt_mock):
    _repl(salt_mock, [False, True])
    ret = one_state.db_replication("192.168.100.12", **REPL)
    assert ret["result"] is True and ret["changes"] == {"replication": {"old": None, "new": STARTED}}
    salt_mock["one.db_replication_pending"].assert_called_once_with(
        "192.168.100.12", "replicator", REPL["password"], wait=30, port=None, client="mysql",
        socket=REPL["socket"])
    salt_mock["one.db_replication_start"].assert_called_once()
    assert REPL["password"] not in repr(ret)
    # configured: nothing is asked of the peer, nothing changes
    _repl(salt_mock, [True])
    ret = one_state.db_replication("192.168.100.12", **REPL)
    assert (ret["result"], ret["changes"]) == (True, {})
    salt_mock["one.db_replication_pending"].assert_not_called()


def test_db_replication_test_mode_never_waits_and_a_silent_peer_is_a_skip(salt_mock):
    _repl(salt_mock, [False])
    one_state.__opts__["test"] = True
    try:
        ret = one_state.db_replication("192.168.100.12", **REPL)
    finally:
        one_state.__opts__["test"] = False
    assert ret["result"] is None and ret["changes"]["replication"]["old"] is None
    salt_mock["one.db_replication_pending"].assert_not_called()
    _repl(salt_mock, [False], pending=False)
    ret = one_state.db_replication("192.168.100.12", **REPL)
    assert (ret["result"], ret["changes"]) == (True, {}) and "did not answer" in ret["comment"]
    salt_mock["one.db_replication_start"].assert_not_called()
    # a configured replica that does not show up after the start fails the state
    _repl(salt_mock, [False, False])
    ret = one_state.db_replication("192.168.100.12", **REPL)
    assert ret["result"] is False and ret["comment"].startswith("verification failed")
