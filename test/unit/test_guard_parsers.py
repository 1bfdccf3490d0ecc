"""Pure parsers of the small guard modules (corosync, moosefs), fed by the tools' output.

corosync-cmapctl: the ``KEY (type) = value`` line format of corosync 3 (cmapctl.c
print_key: ``printf("%s (%s) = %s", key_name, "str", str)``), value with spaces kept.
mfsgetgoal: ``PATH: GOAL`` per path (moosefs-client 3.0 tools_main.c), and the real
"not MFS object" answer captured on this host (moosefs-client 3.0.117, Debian 12).
"""
from unittest.mock import MagicMock

from conftest import REPO, load_ext

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


MOUNTINFO = REPO / "test" / "fixtures" / "moosefs" / "mountinfo-hypervisor.txt"


def test_mountinfo_of_a_lab_hypervisor():
    """/proc/self/mountinfo captured on a container-lab hypervisor with the MooseFS datastores
    mounted (mfsmount: fstype fuse, source mfs#HOST:PORT, escaped as mfs\\043...)."""
    points = moosefs.parse_mountinfo(MOUNTINFO.read_text())
    assert points[0] == "/" and "/var/lib/one/datastores" in points and "/dev/fuse" in points
    assert moosefs.is_mounted("/var/lib/one/datastores", mountinfo=MOUNTINFO) is True
    assert moosefs.is_mounted("/var/lib/one/datastores/", mountinfo=MOUNTINFO) is True
    assert moosefs.is_mounted("/var/lib/one", mountinfo=MOUNTINFO) is False
    assert moosefs.is_mounted("/var/lib/one/datastores/0", mountinfo=MOUNTINFO) is False


def test_mountinfo_escapes_are_decoded(tmp_path):
    """The kernel escapes space, tab, newline and backslash in mount points as \\ooo."""
    text = ("36 35 98:0 / /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n"
            "37 35 98:0 / /mnt/back\\134slash rw - ext3 /dev/root rw\n")
    f = tmp_path / "mountinfo"
    f.write_text(text)
    assert moosefs.parse_mountinfo(text) == ["/mnt/with space", "/mnt/back\\slash"]
    assert moosefs.is_mounted("/mnt/with space", mountinfo=f)
    assert not moosefs.is_mounted("/mnt/with\\040space", mountinfo=f)
    assert moosefs.parse_mountinfo("") == [] and moosefs.parse_mountinfo("garbage\n") == []


def test_is_mounted_on_this_host():
    """The real table of this process: / is always a mount point, a fresh tmp dir never."""
    import tempfile
    assert moosefs.is_mounted("/") is True
    with tempfile.TemporaryDirectory() as d:
        assert moosefs.is_mounted(d) is False
