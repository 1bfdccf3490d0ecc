"""Pure parsers of the small guard modules (corosync, moosefs), fed by the tools' output.

corosync-cmapctl: the ``KEY (type) = value`` line format of corosync 3 (cmapctl.c
print_key: ``printf("%s (%s) = %s", key_name, "str", str)``), value with spaces kept.
mfsgetgoal: ``PATH: GOAL`` per path (moosefs-client 3.0 tools_main.c), and the real
"not MFS object" answer captured on this host (moosefs-client 3.0.117, Debian 12).
"""
from unittest.mock import MagicMock

from conftest import load_ext

corosync = load_ext("modules", "corosync")
moosefs = load_ext("modules", "moosefs")


def test_cmap_get_parses_the_value():
    assert corosync.parse_cmap_get("totem.cluster_name (str) = one-ha\n",
                                   "totem.cluster_name") == "one-ha"
    assert corosync.parse_cmap_get("totem.cluster_name (str) = a b = c\n",
                                   "totem.cluster_name") == "a b = c"
    assert corosync.parse_cmap_get("totem.cluster_namex (str) = y\n",
                                   "totem.cluster_name") is None
    assert corosync.parse_cmap_get("", "totem.cluster_name") is None


def test_is_member_compares_the_runtime_name():
    corosync.__salt__ = {"cmd.run_all": MagicMock(return_value={
        "retcode": 0, "stdout": "totem.cluster_name (str) = one-ha\n", "stderr": ""})}
    assert corosync.is_member("one-ha") is True
    assert corosync.is_member("one-h") is False
    argv = corosync.__salt__["cmd.run_all"].call_args
    assert argv.args[0] == ["corosync-cmapctl", "-g", "totem.cluster_name"]
    assert argv.kwargs["python_shell"] is False
    corosync.__salt__ = {"cmd.run_all": MagicMock(return_value={
        "retcode": 1, "stdout": "", "stderr": "Failed to initialize the cmap API. Error CS_ERR_LIBRARY\n"})}
    assert corosync.is_member("one-ha") is False


def test_getgoal_parser():
    path = "/var/lib/one/datastores"
    assert moosefs.parse_getgoal(f"{path}: 2\n", path) == 2
    assert moosefs.parse_getgoal(f"{path}/x: 2\n", path) is None
    assert moosefs.parse_getgoal(f"{path}: not MFS object\n", path) is None
    moosefs.__salt__ = {"cmd.run_all": MagicMock(return_value={
        "retcode": 0, "stdout": f"{path}: 3\n", "stderr": ""})}
    assert moosefs.has_goal(path, 3) is True and moosefs.has_goal(path, "2") is False
    moosefs.__salt__ = {"cmd.run_all": MagicMock(return_value={
        "retcode": 1, "stdout": f"{path}: not MFS object\n", "stderr": ""})}
    assert moosefs.goal(path) is None and moosefs.has_goal(path, 2) is False
