"""_utils/ohaf_one_raft.py, _modules/oneraft.py and _states/oneraft.py with Salt dunders
mocked, fed by what the lab's real oned 7.4.0 answered in a 3-front-end Raft zone
(test/fixtures/one/oned-7.4.0_raft/: one.zone.raftstatus of each server, one.zone.info,
`onezone show 0 -x`; captured by test/lab/test_lab_raft.py into .lab/raft-captures/)."""
import pathlib
from unittest.mock import MagicMock, patch

import pytest
from pyone import bindings
from salt.exceptions import CommandExecutionError

from conftest import UTILS, load_ext

oneraft = load_ext("modules", "oneraft")
oneraft_state = load_ext("states", "oneraft")
FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "one" / "oned-7.4.0_raft"
FES = ["one-fe1", "one-fe2", "one-fe3"]
EP = {fe: f"http://10.236.11.1{i + 1}:2633/RPC2" for i, fe in enumerate(FES)}
CONN = {"one_auth_file": "/var/lib/one/.one/one_auth"}


def real(name):
    return (FIX / name).read_text()


def parsed(name):
    return bindings.parseString(real(name).encode(), silence=True)


def lib(name):
    fun = UTILS[f"ohaf_one_raft.{name}"]
    return getattr(fun, "func", fun)


def zone_servers(name="zone-info-0.xml"):
    fun = UTILS["ohaf_one_ha.zone_servers"]
    return getattr(fun, "func", fun)(parsed(name))


def real_statuses():
    return {EP[fe]: lib("status")(parsed(f"raftstatus-{fe}.xml")) for fe in FES}


@pytest.fixture
def configure_loader_modules():
    ctx = {"__context__": {}, "__opts__": {"test": False}, "__utils__": UTILS, "__salt__": {}}
    return {oneraft: dict(ctx), oneraft_state: dict(ctx)}


# ---------------------------------------------------------------------- the library
def test_status_of_real_raftstatus_answers():
    sts = real_statuses()
    states = sorted(s["state"] for s in sts.values())
    assert states == ["FOLLOWER", "FOLLOWER", "LEADER"]
    assert {s["server_id"] for s in sts.values()} == {0, 1, 2}
    assert len({s["term"] for s in sts.values()}) == 1
    assert all(s["log_index"] >= s["commit"] >= 0 for s in sts.values())
    # the XML text parses the same as pyone's object
    fe = FES[0]
    assert lib("status")(real(f"raftstatus-{fe}.xml")) == lib("status")(parsed(f"raftstatus-{fe}.xml"))


def test_zone_servers_of_real_zone_info_and_onezone_show():
    servers = zone_servers()
    assert [(s["id"], s["name"], s["endpoint"]) for s in servers] == [
        (i, fe, EP[fe]) for i, fe in enumerate(FES)]
    assert zone_servers("onezone-show-0.xml") == servers
    assert lib("next_server_id")(servers) == 3
    assert lib("next_server_id")([]) == 0
    assert lib("endpoint_host")(EP["one-fe2"]) == "10.236.11.12"


def test_join_plan_ready_when_the_lower_ids_are_members():
    servers, sts = zone_servers(), real_statuses()
    leader = lib("leader_of")(sts)
    assert leader in EP.values()
    # one-fe3 re-checked on a zone listing it: ready, listed, nothing to add
    plan = lib("join_plan")(servers, sts, 2, "one-fe3", {"one-fe1": EP["one-fe1"], "one-fe2": EP["one-fe2"]})
    assert plan["ready"] and plan["listed"] and plan["leader"] == leader
    # one-fe3 before it was added: the zone (first two servers) gives it id 2 = its model id
    plan = lib("join_plan")(servers[:2], sts, 2, "one-fe3", {"one-fe1": EP["one-fe1"], "one-fe2": EP["one-fe2"]})
    assert plan["ready"] and not plan["listed"]


def test_join_plan_waits_for_a_leader_and_the_lower_ids():
    servers, sts = zone_servers(), real_statuses()
    lower = {"one-fe1": EP["one-fe1"], "one-fe2": EP["one-fe2"]}
    nobody = {ep: (dict(s, state="CANDIDATE") if s else s) for ep, s in sts.items()}
    assert lib("join_plan")(None, nobody, 2, "one-fe3", lower)["why"].startswith("no front-end")
    # one-fe2 not added yet: one-fe3 waits for it (one at a time)
    plan = lib("join_plan")(servers[:1], sts, 2, "one-fe3", lower)
    assert not plan["ready"] and "one-fe2" in plan["why"] and "not in the zone" in plan["why"]
    # one-fe2 added but its oned not up yet (no answer)
    down = dict(sts, **{EP["one-fe2"]: None})
    plan = lib("join_plan")(servers[:2], down, 2, "one-fe3", lower)
    assert not plan["ready"] and "no answer" in plan["why"]


def test_join_plan_refuses_ids_the_zone_contradicts():
    servers, sts = zone_servers(), real_statuses()
    with pytest.raises(ValueError, match="lists one-fe3 as server 2, the model says SERVER_ID 5"):
        lib("join_plan")(servers, sts, 5, "one-fe3", {})
    with pytest.raises(ValueError, match="would give one-fe3 server id 1"):
        lib("join_plan")(servers[:1], sts, 2, "one-fe3", {})


def test_restore_only_into_a_never_bootstrapped_db_unless_the_flag():
    assert lib("restore_refusal")(False, False) is None
    assert lib("restore_refusal")(True, True) is None
    why = lib("restore_refusal")(True, False)
    assert "opennebula:ha:raft:overwrite_follower_db" in why


def test_server_template_and_one_files():
    assert lib("server_template")("one-fe2", EP["one-fe2"]) == (
        'SERVER = [ NAME = "one-fe2", ENDPOINT = "http://10.236.11.12:2633/RPC2" ]')
    with pytest.raises(ValueError):
        lib("server_template")('a"b', EP["one-fe2"])
    files = ["one_auth", "one_key", "fireedge_key", "sunstone_auth", "raft-join-1.sql", "onegate_auth"]
    assert lib("one_files")(files, ["one_auth", "fireedge_key"]) == ["one_key", "onegate_auth", "sunstone_auth"]


# ---------------------------------------------------------------------- the module
def _server(raft_xml=None, zone_xml=None):
    server = MagicMock()
    if raft_xml:
        server.zone.raftstatus.return_value = parsed(raft_xml)
    if zone_xml:
        server.zone.info.return_value = parsed(zone_xml)
    return server


def test_plan_through_pyone_on_real_answers():
    servers = {EP[fe]: _server(f"raftstatus-{fe}.xml", "zone-info-0.xml") for fe in FES}
    auth = {"username": "oneadmin", "password": "test-only"}
    with patch("pyone.OneServer", side_effect=lambda ep, **kw: servers[ep]):
        got = oneraft.plan("one-fe3", 2, {fe: EP[fe] for fe in FES[:2]}, ["one-fe1", "one-fe2"], **auth)
    assert got["ready"] and got["listed"] and got["leader"] == EP["one-fe1"]
    # the leader's oned gone (no answer): nobody to join through
    servers[EP["one-fe1"]].zone.raftstatus.side_effect = ConnectionError("refused")
    with patch("pyone.OneServer", side_effect=lambda ep, **kw: servers[ep]):
        got = oneraft.plan("one-fe3", 2, {fe: EP[fe] for fe in FES[:2]}, ["one-fe1", "one-fe2"], **auth)
    assert not got["ready"] and got["why"] == "no front-end answers as the Raft leader yet"


def test_join_runs_the_guides_steps_as_argv_lists(tmp_path):
    """Order: turn, (db not bootstrapped), stop, pull (.one, onedb backup, copy, rm), restore,
    files, server-add on the leader, check of the id."""
    calls = []
    run_all = MagicMock(side_effect=lambda argv, **kw: calls.append((argv, kw.get("runas")))
                        or {"retcode": 0, "stdout": "", "stderr": ""})
    leader = EP["one-fe1"]
    listed = [[{"id": 0, "name": "one-fe1", "endpoint": leader}],
              [{"id": 0, "name": "one-fe1", "endpoint": leader},
               {"id": 1, "name": "one-fe2", "endpoint": EP["one-fe2"]}]]
    salt = {"cmd.run_all": run_all, "service.stop": MagicMock(return_value=True),
            "one.federation_server_id": MagicMock(return_value=1),
            "one.db_bootstrapped": MagicMock(return_value=False)}
    added = MagicMock()
    home = tmp_path / "home"
    (home / ".one").mkdir(parents=True)

    def pull(host, dest, user, home, database):
        (pathlib.Path(dest) / "one").mkdir()
        (pathlib.Path(dest) / "one" / "one_key").write_text("k")
        (pathlib.Path(dest) / "one" / "one_auth").write_text("leader's")
        return {"one_dir": f"{dest}/one", "dump": f"{dest}/leader.sql"}

    with patch.dict(oneraft.__salt__, salt), \
            patch.object(oneraft, "wait_turn", return_value={"ready": True, "leader": leader,
                                                             "listed": False, "waited": 1.0}), \
            patch.object(oneraft, "pull_leader_db", side_effect=pull), \
            patch.object(oneraft, "zone_servers", side_effect=lambda *a, **k: listed.pop()), \
            patch.object(oneraft, "_call", added), \
            patch("shutil.chown"):
        out = oneraft.join("one-fe2", 1, EP["one-fe2"], {"one-fe1": leader}, ["one-fe1"],
                           var_location=str(home), **CONN)
    assert out["joined"] and out["one_files"] == ["one_key"]
    assert (home / ".one" / "one_key").read_text() == "k" and not (home / ".one" / "one_auth").exists()
    (argv, runas), = calls
    assert argv[0] == "mysql" and argv[1].startswith("--execute=source ") and argv[1].endswith("/leader.sql")
    assert runas == "oneadmin"
    added.assert_called_once_with(CONN, leader, "zone.addserver", 0,
                                  'SERVER = [ NAME = "one-fe2", ENDPOINT = "http://10.236.11.12:2633/RPC2" ]')
    salt["service.stop"].assert_called_once_with("opennebula")


def test_join_refuses_a_bootstrapped_db_and_a_wrong_server_id():
    salt = {"one.federation_server_id": MagicMock(return_value=1),
            "one.db_bootstrapped": MagicMock(return_value=True), "service.stop": MagicMock()}
    turn = {"ready": True, "leader": EP["one-fe1"], "listed": False, "waited": 0}
    with patch.dict(oneraft.__salt__, salt), patch.object(oneraft, "wait_turn", return_value=turn):
        with pytest.raises(CommandExecutionError, match="overwrite_follower_db"):
            oneraft.join("one-fe2", 1, EP["one-fe2"], {}, [], **CONN)
        salt["service.stop"].assert_not_called()
        with pytest.raises(CommandExecutionError, match="SERVER_ID 1, the model says 2"):
            oneraft.join("one-fe2", 2, EP["one-fe2"], {}, [], **CONN)


def test_pull_leader_db_argv_lists_and_cleanup():
    calls = []
    run_all = MagicMock(side_effect=lambda argv, **kw: calls.append(argv)
                        or {"retcode": 0, "stdout": "", "stderr": ""})
    with patch.dict(oneraft.__salt__, {"cmd.run_all": run_all}):
        got = oneraft.pull_leader_db("10.236.11.11", "/var/lib/one/.raft-join-x")
    assert got["dump"] == "/var/lib/one/.raft-join-x/leader.sql"
    assert all(isinstance(a, list) for a in calls)
    assert [a[0] for a in calls] == ["scp", "ssh", "scp", "ssh"]
    assert calls[1][-8:-1] == ["mysqldump", "--single-transaction", "--no-tablespaces",
                               "--add-drop-database", "--add-drop-table", "--databases", "opennebula"]
    assert calls[1][-1].startswith("--result-file=/var/lib/one/.one/")  # inside the 0700 ~/.one
    assert not any("password" in a.lower() for c in calls for a in c)
    assert calls[3][-3:-1] == ["rm", "-f"]


def test_status_none_when_oned_does_not_answer():
    server = MagicMock()
    server.zone.raftstatus.side_effect = ConnectionError("refused")
    with patch("pyone.OneServer", return_value=server):
        assert oneraft.status(EP["one-fe1"], username="oneadmin", password="test-only") is None


# ---------------------------------------------------------------------- the states
@pytest.mark.parametrize("test", [False, True])
def test_joined_only_when_the_db_was_never_bootstrapped(test):
    join = MagicMock(return_value={"leader": EP["one-fe1"], "waited_for_turn": 2.0, "one_files": ["one_key"]})
    boot = MagicMock(return_value=False)
    with patch.dict(oneraft_state.__salt__, {"one.db_bootstrapped": boot, "oneraft.join": join}), \
            patch.dict(oneraft_state.__opts__, {"test": test}):
        ret = oneraft_state.joined("/etc/one/oned.conf", "one-fe2", 1, EP["one-fe2"],
                                   {"one-fe1": EP["one-fe1"]}, ["one-fe1"], **CONN)
    if test:
        assert ret["result"] is None and ret["changes"] and not join.called
    else:
        assert ret["result"] is True and ret["changes"]["joined"]["new"] == "zone 0 as SERVER_ID 1"
        assert join.call_args.args[:5] == ("one-fe2", 1, EP["one-fe2"], {"one-fe1": EP["one-fe1"]}, ["one-fe1"])
    boot.return_value = True
    with patch.dict(oneraft_state.__salt__, {"one.db_bootstrapped": boot, "oneraft.join": join}):
        ret = oneraft_state.joined("/etc/one/oned.conf", "one-fe2", 1, EP["one-fe2"], {}, [], **CONN)
    assert ret["result"] is True and ret["changes"] == {}


def test_joined_with_the_flag_restores_over_a_db_the_zone_does_not_list():
    boot = MagicMock(return_value=True)
    plan = MagicMock(return_value={"ready": True, "leader": EP["one-fe1"], "listed": False})
    join = MagicMock(return_value={"leader": EP["one-fe1"], "waited_for_turn": 0, "one_files": []})
    with patch.dict(oneraft_state.__salt__, {"one.db_bootstrapped": boot, "oneraft.plan": plan,
                                             "oneraft.join": join}):
        ret = oneraft_state.joined("/etc/one/oned.conf", "one-fe2", 1, EP["one-fe2"], {}, [],
                                   overwrite=True, **CONN)
        assert ret["result"] is True and ret["changes"] and join.call_args.kwargs["overwrite"] is True
        plan.return_value = dict(plan.return_value, listed=True)
        join.reset_mock()
        ret = oneraft_state.joined("/etc/one/oned.conf", "one-fe2", 1, EP["one-fe2"], {}, [],
                                   overwrite=True, **CONN)
        assert ret["changes"] == {} and not join.called


def test_member_waits_and_reports_no_changes():
    got = dict(real_statuses()[EP["one-fe2"]], waited=3.0)
    wait = MagicMock(side_effect=[CommandExecutionError("raft state CANDIDATE"), got])
    with patch.dict(oneraft_state.__salt__, {"oneraft.wait_member": wait}):
        ret = oneraft_state.member("one-fe2", EP["one-fe2"], **CONN)
    assert ret["result"] is True and ret["changes"] == {}
    assert "FOLLOWER" in ret["comment"] or "LEADER" in ret["comment"]
    assert wait.call_args_list[0].kwargs["wait"] == 0 and wait.call_args_list[1].kwargs["wait"] == 300
