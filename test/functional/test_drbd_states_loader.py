"""The drbd states and module through Salt's real loader (``loaders_at``), with fake
``drbdadm``/``drbdsetup`` first on PATH answering from the captured DRBD 9 outputs in
test/fixtures/drbd/.

What the unit tests cannot show: under the loader, ``ohaf_state.run`` and ``ohaf_cache`` are
``__utils__`` functions that Salt runs in the utils loader's context, where a state's or the
module's own dunders (``__salt__``, ``__utils__``, ``__context__``) do not resolve (the utils
loader has no ``__salt__``). Here every state goes through the engine for real, and the
module's run cache works (one ``drbdsetup status`` per run until a write drops it).
"""
import json
import os
import pathlib
import sys

import pytest

from conftest import loaders_at

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "drbd"

FAKE = r'''#!{python}
"""Fake drbdadm/drbdsetup: the node's state is files in $FAKE_DRBD (status.json: the
drbdsetup status --json answer, absent = not up; gi: the get-gi answer); every call is
appended to $FAKE_DRBD/log."""
import json, os, pathlib, sys
state = pathlib.Path(os.environ["FAKE_DRBD"])
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(state / "log", "a") as fh:
    fh.write(json.dumps([tool] + args) + "\n")
if tool == "drbdsetup":
    if not (state / "status.json").exists():
        sys.stderr.write("%s: No such resource\n" % args[-1])
        sys.exit(10)
    print((state / "status.json").read_text())
    sys.exit(0)
if "-c" in args:
    i = args.index("-c"); del args[i:i + 2]
if args == ["--version"]:
    print("DRBDADM_VERSION=9.22.0\nDRBD_KERNEL_VERSION=9.2.5")
elif args[0] == "get-gi":
    print((state / "gi").read_text())
elif args[0] == "role":
    print(json.loads((state / "status.json").read_text())[0]["role"])
sys.exit(0)
'''


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """The fake tools on PATH and Salt's loader, once for the file."""
    if os.path.exists("/proc/drbd"):
        pytest.skip("a DRBD kernel module is loaded here: the module would read its version")
    tmp = tmp_path_factory.mktemp("drbd")
    bindir, state = tmp / "bin", tmp / "state"
    bindir.mkdir()
    state.mkdir()
    script = bindir / "fake-drbd"
    script.write_text(FAKE.replace("{python}", sys.executable))
    script.chmod(0o755)
    for tool in ("drbdadm", "drbdsetup"):
        (bindir / tool).symlink_to(script)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
        mp.setenv("FAKE_DRBD", str(state))
        with loaders_at(tmp / "salt") as loaders:
            yield state, loaders


@pytest.fixture
def node(host):
    """one-disk after create-md and up on both nodes (DRBD 9), a fresh run (empty
    __context__), an empty call log."""
    state, loaders = host
    (state / "status.json").write_text((FIX / "status_json_9_initial_inconsistent.json").read_text())
    (state / "gi").write_text((FIX / "get_gi_9_fresh.txt").read_text())
    (state / "log").write_text("")
    loaders.context.clear()

    class Node:
        path = state

        @staticmethod
        def calls():
            return [json.loads(line) for line in (state / "log").read_text().splitlines()]

        @staticmethod
        def writes():
            return [c for c in Node.calls() if c[0] == "drbdadm" and any(
                v in c for v in ("primary", "secondary", "up", "down", "adjust", "create-md"))
                and "-d" not in c]

        @staticmethod
        def set_role(role):
            data = json.loads((state / "status.json").read_text())
            data[0]["role"] = role
            (state / "status.json").write_text(json.dumps(data))

    Node.loaders = loaders
    return Node


def test_forced_promotion_on_the_wrong_node_is_refused_and_writes_nothing(node):
    drbd = node.loaders.states.drbd
    ret = drbd.primary(name="one-disk", force=True, initial_primary="cloud-cc02",
                       node="cloud-cc01", test=True)
    assert ret.result is None, ret.filtered
    assert "forced promotion would be REFUSED: this node is cloud-cc01, but initial_primary " \
           "is cloud-cc02" in ret.comment
    ret = drbd.primary(name="one-disk", force=True, initial_primary="cloud-cc02",
                       node="cloud-cc01")
    assert ret.result is False and ret.changes == {}
    assert ret.comment == ("refusing forced promotion of one-disk: this node is cloud-cc01, "
                           "but initial_primary is cloud-cc02")
    assert node.writes() == []


def test_forced_promotion_on_initial_primary_then_no_changes(node):
    drbd = node.loaders.states.drbd
    ret = drbd.primary(name="one-disk", force=True, initial_primary="cloud-cc01",
                       node="cloud-cc01", test=True)
    assert ret.result is None and "REFUSED" not in ret.comment, ret.filtered
    assert node.writes() == []
    # the fake does not change the role: the engine's re-read fails the verification
    ret = drbd.primary(name="one-disk", force=True, initial_primary="cloud-cc01",
                       node="cloud-cc01")
    assert node.writes() == [["drbdadm", "primary", "--force", "one-disk"]]
    assert ret.result is False and ret.comment.startswith(
        "verification failed: one-disk is role Secondary"), ret.filtered
    node.set_role("Primary")
    ret = drbd.primary(name="one-disk", force=True, initial_primary="cloud-cc01",
                       node="cloud-cc01")
    assert ret.result is True and ret.changes == {}
    assert ret.comment == "DRBD resource one-disk is already Primary"


def test_secondary_resource_up_and_synced_through_the_engine(node):
    drbd = node.loaders.states.drbd
    node.set_role("Primary")
    ret = drbd.secondary(name="one-disk", test=True)
    assert ret.result is None and ret.changes == {"role": {"old": "Primary", "new": "Secondary"}}
    ret = drbd.resource_up(name="one-disk")
    assert ret.result is True and ret.changes == {}, ret.filtered
    assert ret.comment.startswith("DRBD resource one-disk is up and matches its config")
    ret = drbd.synced(name="one-disk", test=True)
    assert ret.result is None and ret.comment == "would wait up to 300s for one-disk to sync"
    (node.path / "status.json").unlink()
    ret = drbd.synced(name="one-disk")
    assert ret.result is False and ret.comment == "DRBD resource one-disk is not up on this node"
    assert node.writes() == []


def test_the_module_caches_reads_in_its_own_context_until_a_write(node):
    drbd = node.loaders.modules.drbd
    status = [c for c in node.calls() if c[0] == "drbdsetup"]
    assert drbd.status("one-disk")["one-disk"]["role"] == "Secondary"
    assert drbd.status("one-disk")["one-disk"]["role"] == "Secondary"
    assert len([c for c in node.calls() if c[0] == "drbdsetup"]) == len(status) + 1
    assert any(k.startswith("ohaf.drbd") for k in node.loaders.context)
    drbd.up("one-disk")
    drbd.status("one-disk")
    assert len([c for c in node.calls() if c[0] == "drbdsetup"]) == len(status) + 2
