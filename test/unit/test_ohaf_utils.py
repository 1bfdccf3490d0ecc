"""_utils/: the state engine, the command runner, the run cache and the secret mask, as the
modules and states use them through ``__utils__``."""
from unittest import mock

import pytest
from salt.exceptions import CommandExecutionError, SaltInvocationError

from conftest import UTILS

run = UTILS["ohaf_state.run"]


class Obj:
    """An object a state manages: reads answer from ``reads`` in turn; writes are recorded."""

    def __init__(self, *reads):
        self.reads = list(reads)
        self.writes = []

    def read(self):
        return self.reads.pop(0)

    def diff(self, cur):
        if cur is None:
            return {"old": None, "new": {"size": 2}}
        return UTILS["ohaf_state.attr_diff"]({"size": 2}, cur)

    def apply(self, cur, changes):
        self.writes.append(changes)


def go(obj, test=False, **kw):
    return run("p", test=test, read=obj.read, diff=obj.diff, apply=obj.apply, what="pool p", **kw)


def test_in_desired_state_reads_once_and_reports_nothing():
    obj = Obj({"size": 2})
    assert go(obj) == {"name": "p", "result": True, "changes": {},
                       "comment": "pool p is in the desired state"}
    assert obj.writes == [] and obj.reads == []


def test_test_mode_returns_the_diff_with_result_none_and_writes_nothing():
    obj = Obj({"size": 1}, {"size": 2})
    ret = go(obj, test=True)
    assert ret["result"] is None
    assert ret["changes"] == {"size": {"old": 1, "new": 2}}
    assert ret["comment"] == "pool p would be updated (size)"
    assert obj.writes == [] and len(obj.reads) == 1


def test_apply_rereads_and_reports_the_applied_diff():
    obj = Obj(None, {"size": 2})
    ret = go(obj)
    assert ret == {"name": "p", "result": True, "comment": "pool p created",
                   "changes": {"old": None, "new": {"size": 2}}}
    assert obj.writes == [{"old": None, "new": {"size": 2}}] and obj.reads == []


def test_a_difference_left_after_apply_fails_verification():
    obj = Obj({"size": 1}, {"size": 1})
    ret = go(obj)
    assert ret["result"] is False
    assert ret["comment"].startswith("verification failed: pool p still differs")
    assert obj.writes == [{"size": {"old": 1, "new": 2}}]


def test_command_errors_fail_the_state_with_their_text():
    def read():
        raise CommandExecutionError("cibadmin failed (rc=105): no such device")

    ret = run("p", test=False, read=read, diff=dict, apply=None)
    assert ret == {"name": "p", "result": False, "changes": {},
                   "comment": "cibadmin failed (rc=105): no such device"}


@pytest.mark.parametrize("fun,result", [("skip", True), ("refuse", False), ("pending", None)])
def test_precheck_outcomes_end_the_state_before_any_read(fun, result):
    obj = Obj({"size": 1})

    def pre():
        UTILS[f"ohaf_state.{fun}"]("because")

    ret = go(obj, precheck=pre)
    assert (ret["result"], ret["comment"], ret["changes"]) == (result, "because", {})
    assert obj.reads == [{"size": 1}]


def test_mask_hides_secrets_in_every_reported_diff():
    mask = UTILS["ohaf_secret.mask_changes"]
    obj = Obj({"PASSWORD": "old"}, {"PASSWORD": "old"}, {"PASSWORD": "s3cr3t"})

    def diff(cur):
        return UTILS["ohaf_state.attr_diff"]({"PASSWORD": "s3cr3t"}, cur)

    for test in (True, False):
        ret = run("p", test=test, read=obj.read, diff=diff, apply=obj.apply, mask=mask)
        assert ret["changes"] == {"PASSWORD": {"old": "<hidden>", "new": "<hidden>"}}
        assert "s3cr3t" not in repr(ret)


def test_custom_comments_and_apply_notes():
    obj = Obj({"size": 1}, {"size": 2})
    ret = run("p", test=False, read=obj.read, diff=obj.diff,
              apply=lambda cur, ch: "resynced", comment_done=lambda ch: "grown")
    assert ret["comment"] == "grown; resynced"


def test_runner_refuses_shell_strings_and_scrubs_secrets():
    cmd = UTILS["ohaf_cmd.run"]
    run_all = mock.Mock(return_value={"retcode": 1, "stdout": "", "stderr": "bad pw hunter2"})
    with pytest.raises(SaltInvocationError):
        cmd(run_all, "cibadmin --query")
    with pytest.raises(CommandExecutionError) as err:
        cmd(run_all, ["mysql", "-e", "x"], secrets=["hunter2"], timeout=5)
    assert "hunter2" not in str(err.value) and "<hidden>" in str(err.value)
    run_all.assert_called_once_with(["mysql", "-e", "x"], python_shell=False,
                                    ignore_retcode=True, timeout=5, output_loglevel="quiet")
    assert cmd(run_all, ["true"], check=False)["retcode"] == 1


def test_run_cache_loads_once_and_forgets_on_invalidate():
    ctx = {}
    loader = mock.Mock(side_effect=[1, 2])
    get = UTILS["ohaf_cache.get"]
    assert get(ctx, "crm", "cib", loader) == 1
    assert get(ctx, "crm", "cib", loader) == 1
    UTILS["ohaf_cache.invalidate"](ctx, "crm")
    assert get(ctx, "crm", "cib", loader) == 2
    assert loader.call_count == 2


def test_secret_mask_rules():
    assert UTILS["ohaf_secret.is_secret_key"]("ONE_AUTH")
    assert UTILS["ohaf_secret.is_secret_key"]("ssh_key")
    assert not UTILS["ohaf_secret.is_secret_key"]("keyring_dir")
    assert UTILS["ohaf_secret.scrub"]("ab abc", ["ab", "abc"]) == "<hidden> <hidden>"
    assert UTILS["ohaf_secret.mask_mapping"]({"a": 1, "pass": None, "PASSWORD": "x"}) == \
        {"a": 1, "pass": None, "PASSWORD": "<hidden>"}


def test_report_replaces_the_reported_changes_after_a_successful_apply():
    obj = Obj({"size": 1})
    ret = run("p", test=False, read=obj.read, diff=obj.diff, apply=obj.apply, verify=False,
              report=lambda changes, after: {"retcode": 0, "asked": sorted(changes)})
    assert ret["changes"] == {"retcode": 0, "asked": ["size"]}


# ---------------------------------------------------------------- guards (onlyif/unless/creates)
guards = UTILS["ohaf_state.guards"]


class Funcs(dict):
    """``__salt__`` for guards: each function records its call and answers from ``answers``."""

    def __init__(self, **answers):
        super().__init__()
        self.calls = []
        for name, value in answers.items():
            self[name.replace("__", ".")] = self._fun(name.replace("__", "."), value)

    def _fun(self, name, value):
        def fun(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            if isinstance(value, Exception):
                raise value
            return value
        return fun


def test_guards_mean_what_salts_requisites_mean(tmp_path):
    t = Funcs(m__yes=True, m__no=False)
    assert guards(t) is None
    assert guards(t, onlyif=[{"fun": "m.yes"}]) is None
    assert guards(t, onlyif={"fun": "m.no"}) == {
        "result": True, "comment": "onlyif condition is false", "skip_watch": True}
    # unless: skipped only when every entry is true
    assert guards(t, unless=[{"fun": "m.yes"}, {"fun": "m.no"}]) is None
    assert guards(t, unless=[{"fun": "m.yes"}, {"fun": "m.yes"}])["comment"] == \
        "unless condition is true"
    present = tmp_path / "there"
    present.write_text("")
    assert guards(t, creates=str(present))["comment"] == f"{present} exists"
    assert guards(t, creates=[str(present), str(tmp_path / "missing")]) is None
    assert guards(t, creates=[str(present)] * 2)["comment"] == "All files in creates exist"


def test_guards_pass_arguments_and_stop_at_the_first_answer():
    t = Funcs(m__no=False, m__info={"members": ["a"], "gid": 7}, m__boom=AssertionError("x"))
    entry = {"fun": "m.info", "args": ["grp", 2], "name": "n", "get_return": "gid"}
    assert guards(t, unless=[entry]) is not None          # get_return: 7 is true
    assert t.calls == [("m.info", ("grp", 2), {"name": "n"})]
    assert entry == {"fun": "m.info", "args": ["grp", 2], "name": "n", "get_return": "gid"}
    # onlyif false: the unless (here a function that would fail the test) is never called
    assert guards(t, onlyif=[{"fun": "m.no"}], unless=[{"fun": "m.boom"}])["comment"] == \
        "onlyif condition is false"


@pytest.mark.parametrize("bad", ["test -e /etc", ["mount.is_mounted"], True, {"args": [1]},
                                 {"fun": 3}])
def test_guards_refuse_shell_strings_and_malformed_entries(bad):
    with pytest.raises(SaltInvocationError, match="function calls"):
        guards(Funcs(), unless=[bad])


def test_guards_report_missing_and_failing_functions():
    with pytest.raises(SaltInvocationError, match="m.gone is not available"):
        guards(Funcs(), onlyif=[{"fun": "m.gone"}])
    with pytest.raises(CommandExecutionError, match="unless: m.err failed: no socket"):
        guards(Funcs(m__err=CommandExecutionError("no socket")), unless=[{"fun": "m.err"}])
    with pytest.raises(SaltInvocationError, match="creates"):
        guards(Funcs(), creates={"path": "/x"})


def test_engine_guards_skip_before_any_read_and_mark_skip_watch():
    obj = Obj({"size": 1})
    ret = go(obj, guards=lambda: guards(Funcs(m__no=False), onlyif=[{"fun": "m.no"}]))
    assert ret == {"name": "p", "result": True, "changes": {}, "skip_watch": True,
                   "comment": "onlyif condition is false"}
    assert obj.reads == [{"size": 1}] and obj.writes == []
    # guards that let the state run: the engine goes on (test mode: the diff, nothing written)
    ret = go(obj, test=True, guards=lambda: guards(Funcs(m__no=False), unless=[{"fun": "m.no"}]))
    assert ret["result"] is None and ret["changes"] == {"size": {"old": 1, "new": 2}}
    # a malformed guard fails the state with its text, nothing read
    obj = Obj({"size": 1})
    ret = go(obj, guards=lambda: guards(Funcs(), unless=["true"]))
    assert ret["result"] is False and "shell string" in ret["comment"] and obj.reads == [{"size": 1}]
