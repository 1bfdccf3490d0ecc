"""_utils/ohaf_clusterconf.py and _utils/ohaf_clusterconf_write.py on their own: the pure
cluster.conf library the ccs module and states share (fed by the Red Hat cluster suite
guide's files in test/fixtures/ccs)."""
import ast
import pathlib

import pytest
from salt.exceptions import CommandExecutionError

from conftest import REPO, UTILS

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "ccs"
GUIDE = (FIXTURES / "rhcs_guide_cluster.conf").read_text()
FENCED = (FIXTURES / "rhcs_guide_fenced_cluster.conf").read_text()
MASK = UTILS["ohaf_secret.mask_mapping"]
PASSWORD = "ipmi-pa55"

parse = UTILS["ohaf_clusterconf.parse"]
diff = UTILS["ohaf_clusterconf.diff"]
serialize = UTILS["ohaf_clusterconf_write.serialize"]
next_version = UTILS["ohaf_clusterconf_write.next_version"]


def edit(text, func, strict=True, **args):
    root = parse(text, "c.conf") if text is not None else None
    return UTILS["ohaf_clusterconf.edit"](root, func, args, MASK, strict=strict)


def with_ipmi(text=FENCED):
    changes, root = edit(text, "set_fencedevice", name="ipmi", agent="fence_ipmilan",
                         attrs={"ipaddr": "10.0.0.9", "passwd": PASSWORD, "community": "pub"})
    assert changes["new"]["passwd"] == "<hidden>" and changes["new"]["community"] == "<hidden>"
    changes, root = edit(serialize(root), "set_fence_method", node="one-server1", method="ipmi",
                         device="ipmi", attrs={"lanplus": 1, "passwd": PASSWORD})
    assert changes["new"]["device"] == {"name": "ipmi", "lanplus": "1", "passwd": "<hidden>"}
    return serialize(root)


def test_no_salt_dunder_in_the_library():
    """Salt 3008's utils loader gives ``_utils`` modules no ``__utils__`` (nor any dunder we
    could rely on): the library takes ohaf_secret's mask as an argument instead."""
    for name in ("ohaf_clusterconf.py", "ohaf_clusterconf_write.py"):
        tree = ast.parse((REPO / "_utils" / name).read_text())
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id.startswith("__")}
        assert used == set(), (name, used)


def test_diff_is_pure_and_diffs_a_missing_file_against_the_skeleton():
    assert diff(GUIDE, "set_node", {"name": "one-server1", "nodeid": 1}, MASK) == {}
    assert diff(GUIDE, "set_node", {"name": "one-server3", "nodeid": 3}, MASK) == {
        "old": None, "new": {"name": "one-server3", "nodeid": "3"}}
    assert diff(None, "set_cluster", {"name": "c", "cman": {"two_node": True}}, MASK) == {
        "old": None, "new": {"name": "c", "cman": {"two_node": "1"}}}
    assert diff("", "remove_service", {"name": "opennebula"}, MASK) == {}
    with pytest.raises(CommandExecutionError, match="no edit named set_vm"):
        diff(GUIDE, "set_vm", {"name": "x"}, MASK)


def test_fence_method_is_only_diffed_before_its_node_and_device_exist():
    args = {"node": "one-server9", "method": "m", "device": "d", "attrs": {"port": "x"}}
    assert diff(GUIDE, "set_fence_method", args, MASK)["old"] is None
    with pytest.raises(CommandExecutionError, match="node one-server9 is not in cluster.conf"):
        edit(GUIDE, "set_fence_method", **args)
    with pytest.raises(CommandExecutionError, match="fence device d is not defined"):
        edit(GUIDE, "set_fence_method", **{**args, "node": "one-server1"})


def test_secrets_are_hidden_in_updates_removals_and_the_data_view():
    text = with_ipmi()
    assert PASSWORD.encode() in text  # cman needs it in the file
    changes = diff(text, "set_fencedevice", {"name": "ipmi", "agent": "fence_ipmilan", "attrs": {
        "ipaddr": "10.0.0.10", "passwd": "other", "community": "pub"}}, MASK)
    assert changes == {"ipaddr": {"old": "10.0.0.9", "new": "10.0.0.10"},
                       "passwd": {"old": "<hidden>", "new": "<hidden>"}}
    node = diff(text, "remove_node", {"name": "one-server1"}, MASK)["old"]
    assert node["fence"]["ipmi"] == [{"lanplus": "1", "name": "ipmi", "passwd": "<hidden>"}]
    method = diff(text, "remove_fence_method", {"node": "one-server1", "method": "ipmi"}, MASK)
    assert method == {"old": {"node": "one-server1", "method": "ipmi", "devices": [
        {"lanplus": "1", "name": "ipmi", "passwd": "<hidden>"}]}, "new": None}
    data = UTILS["ohaf_clusterconf.config_data"](parse(text, "c.conf"), MASK)
    assert data["fencedevices"]["ipmi"]["community"] == "<hidden>"
    assert data["fencedevices"]["libvirt-kvm"]["key_file"] == "/etc/cluster/fence_xvm.key"
    assert PASSWORD not in repr(data) and "other" not in repr(changes)


def test_config_data_of_the_fenced_guide_file():
    data = UTILS["ohaf_clusterconf.config_data"](parse(FENCED, "c.conf"), MASK)
    assert data["config_version"] == 18
    assert data["nodes"]["one-server2"] == {
        "nodeid": "2", "fence": {"libvirt-kvm": [{"name": "libvirt-kvm", "port": "one2"}]}}
    assert data["services"]["opennebula"]["resources"][2] == {"script": {"ref": "sunstone"}}
    assert UTILS["ohaf_clusterconf.config_data"](None, MASK) == {}


def test_serialize_writes_like_ccs_and_keeps_comments():
    root = parse('<cluster name="c" config_version="2"><!-- kept --><cman two_node="1" '
                 'expected_votes="1"></cman><rm/></cluster>', "c.conf")
    assert serialize(root).decode() == (
        '<?xml version="1.0"?>\n<cluster config_version="2" name="c">\n  <!-- kept -->\n'
        '  <cman expected_votes="1" two_node="1"/>\n  <rm/>\n</cluster>\n'
    )
    # the guide's printed file (indentation lost) reads back element by element
    again = parse(serialize(parse(GUIDE, "c.conf")), "c.conf")
    assert [(e.tag, e.attrib) for e in again.iter()] == \
        [(e.tag, e.attrib) for e in parse(GUIDE, "c.conf").iter()]


@pytest.mark.parametrize("old,mark,token,sig,floor,new", [
    (17, None, "run-1", (1, 2, 3), None, 18),                    # first write of the run
    (18, {"token": "run-1", "sig": (1, 2, 3), "version": 18}, "run-1", (1, 2, 3), None, 18),
    (18, {"token": "run-1", "sig": (1, 2, 3), "version": 18}, "run-1", (1, 2, 4), None, 19),
    (18, {"token": "run-1", "sig": (1, 2, 3), "version": 18}, "run-2", (1, 2, 3), None, 19),
    (18, {"token": None, "sig": (1, 2, 3), "version": 18}, None, (1, 2, 3), None, 19),
    (17, None, None, None, 40, 40),                               # a floor raises
    (41, None, None, None, 40, 42),                               # never lowers
])
def test_next_version_bumps_once_per_change_set(old, mark, token, sig, floor, new):
    assert next_version(old, mark, token, sig, floor) == new
