"""_modules/ccs.py with Salt's dunders mocked: XML edits, config_version, CLI argv, secrets."""
import os
import pathlib
import shutil
import xml.etree.ElementTree as ET
from unittest import mock

import pytest
from salt.exceptions import CommandExecutionError

from conftest import UTILS, load_ext

ccs = load_ext("modules", "ccs")

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "ccs"
GUIDE_LVM = FIXTURES / "rhcs_guide_cluster.conf"
PASSWORD = "s3cr3t-ricci"


@pytest.fixture
def run_all():
    return mock.MagicMock(return_value={"retcode": 0, "stdout": "", "stderr": "", "pid": 1})


@pytest.fixture
def configure_loader_modules(run_all):
    return {ccs: {"__salt__": {"cmd.run_all": run_all}, "__context__": {}, "__opts__": {},
                  "__utils__": UTILS}}


@pytest.fixture
def guide_conf(tmp_path):
    path = tmp_path / "cluster.conf"
    shutil.copy(GUIDE_LVM, path)
    return path


def root(path):
    return ET.parse(path).getroot()


def snapshot(path):
    st = os.stat(path)
    return pathlib.Path(path).read_bytes(), st.st_mtime_ns, st.st_ino


# --------------------------------------------------------------------------- reading


def test_get_config_reads_the_guide_conf(guide_conf):
    cfg = ccs.get_config(path=str(guide_conf))
    assert cfg["name"] == "opennebula"
    assert cfg["config_version"] == 17
    assert cfg["cman"] == {"expected_votes": "1", "two_node": "1"}
    assert cfg["nodes"] == {"one-server1": {"nodeid": "1"}, "one-server2": {"nodeid": "2"}}
    assert cfg["failoverdomains"]["opennebula"] == {
        "nofailback": "0",
        "ordered": "1",
        "restricted": "0",
        "nodes": {"one-server1": "1", "one-server2": "2"},
    }
    assert cfg["resources"] == [
        {"ip": {"address": "10.10.11.12", "sleeptime": "10"}},
        {"script": {"file": "/etc/init.d/opennebula", "name": "opennebula"}},
        {"script": {"file": "/etc/init.d/opennebula-sunstone", "name": "sunstone"}},
    ]
    assert cfg["services"]["opennebula"]["resources"][0] == {"ip": {"ref": "10.10.11.12"}}


def test_get_config_missing_and_empty(tmp_path):
    assert ccs.get_config(path=str(tmp_path / "nope.conf")) == {}
    (tmp_path / "empty.conf").write_text("  \n")
    assert ccs.get_config(path=str(tmp_path / "empty.conf")) == {}


def test_wrong_root_is_a_clear_error(tmp_path):
    bad = tmp_path / "c.conf"
    bad.write_text("<cib/>")
    with pytest.raises(CommandExecutionError, match="root element is <cib>"):
        ccs.get_config(path=str(bad))
    bad.write_text("<cluster")
    with pytest.raises(CommandExecutionError, match="not valid XML"):
        ccs.get_config(path=str(bad))


# --------------------------------------------------------------------------- edits


def test_edit_without_cluster_fails_but_test_mode_diffs(tmp_path):
    path = str(tmp_path / "cluster.conf")
    with pytest.raises(CommandExecutionError, match="apply ccs.cluster_present"):
        ccs.set_node("one-server1", 1, path=path)
    res = ccs.set_node("one-server1", 1, path=path, test=True)
    assert res["changes"] == {"old": None, "new": {"name": "one-server1", "nodeid": "1"}}
    assert not os.path.exists(path)


def test_each_call_is_its_own_change_set_unless_a_token_is_shared(guide_conf):
    path = str(guide_conf)
    ccs.set_node("one-server3", 3, path=path)
    ccs.set_node("one-server4", 4, path=path)
    assert root(guide_conf).get("config_version") == "19"
    ccs.set_node("one-server5", 5, path=path, change_set="run-1")
    ccs.set_node("one-server6", 6, path=path, change_set="run-1")
    ccs.set_node("one-server7", 7, path=path, change_set="run-1")
    assert root(guide_conf).get("config_version") == "20"
    # a foreign write in between starts a new change set, even with the same token
    text = guide_conf.read_text().replace('name="one-server7"', 'name="one-server7" weight="1"')
    guide_conf.write_text(text)
    ccs.set_node("one-server8", 8, path=path, change_set="run-1")
    assert root(guide_conf).get("config_version") == "21"


def test_no_change_no_write(guide_conf):
    before = snapshot(guide_conf)
    res = ccs.set_node("one-server1", 1, votes=1, path=str(guide_conf))  # votes 1 = default
    assert res == {"changes": {}, "config_version": None, "path": str(guide_conf), "test": False}
    assert snapshot(guide_conf) == before


def test_write_is_atomic_sorted_and_0640(guide_conf, tmp_path):
    os.chmod(guide_conf, 0o600)
    ino = os.stat(guide_conf).st_ino
    res = ccs.set_node("one-server3", 3, votes=2, path=str(guide_conf))
    assert res["config_version"] == {"old": 17, "new": 18}
    st = os.stat(guide_conf)
    assert st.st_ino != ino  # renamed into place, not rewritten
    assert oct(st.st_mode & 0o777) == "0o640"
    assert [p.name for p in tmp_path.iterdir()] == ["cluster.conf"]  # no temp file left
    text = guide_conf.read_text()
    assert text.startswith('<?xml version="1.0"?>\n<cluster config_version="18" name="opennebula">')
    assert '    <clusternode name="one-server3" nodeid="3" votes="2"/>' in text


def test_duplicate_nodeid_is_refused(guide_conf):
    with pytest.raises(CommandExecutionError, match="nodeid 2 already used by one-server2"):
        ccs.set_node("one-server3", 2, path=str(guide_conf))
    with pytest.raises(CommandExecutionError, match="positive integer"):
        ccs.set_node("one-server3", 0, path=str(guide_conf))


def test_attribute_level_diff_and_default_removal(guide_conf):
    path = str(guide_conf)
    ccs.set_node("one-server1", 1, votes=3, path=path)
    res = ccs.set_node("one-server1", 1, path=path)  # votes back to default: attribute removed
    assert res["changes"] == {"votes": {"old": "3", "new": None}}
    assert root(guide_conf).find("clusternodes/clusternode").attrib == {
        "name": "one-server1",
        "nodeid": "1",
    }


def test_new_sections_go_where_ccs_puts_them(tmp_path):
    path = tmp_path / "cluster.conf"
    path.write_text(
        '<?xml version="1.0"?>\n<cluster config_version="3" name="c">'
        "<!-- keep me --><clusternodes/><totem token=\"10000\"/></cluster>"
    )
    ccs.set_cluster("c", cman={"two_node": True, "expected_votes": 1}, path=str(path))
    r = root(path)
    assert [e.tag for e in r if isinstance(e.tag, str)] == [
        "fence_daemon",
        "clusternodes",
        "cman",
        "totem",
        "fencedevices",
        "rm",
    ]
    assert r.find("cman").attrib == {"expected_votes": "1", "two_node": "1"}
    assert "<!-- keep me -->" in path.read_text()
    assert [e.tag for e in r.find("rm")] == []  # sections inside rm come with their first use


def test_config_version_is_a_floor(guide_conf):
    res = ccs.set_cluster("opennebula", config_version=40, path=str(guide_conf))
    assert res["changes"] == {"config_version": {"old": 17, "new": 40}}
    assert root(guide_conf).get("config_version") == "40"
    assert ccs.set_cluster("opennebula", config_version=5, path=str(guide_conf))["changes"] == {}


def test_failoverdomain_nodes_and_flags(guide_conf):
    path = str(guide_conf)
    res = ccs.set_failoverdomain(
        "opennebula", ordered=True, nodes={"one-server1": 2, "one-server2": 1}, path=path
    )
    assert res["changes"] == {
        "nodes": {
            "old": {"one-server1": "1", "one-server2": "2"},
            "new": {"one-server1": "2", "one-server2": "1"},
        }
    }
    res = ccs.set_failoverdomain(
        "db", restricted="yes", nodes=["one-server1", "one-server2"], path=path
    )
    dom = root(guide_conf).find("rm/failoverdomains/failoverdomain[@name='db']")
    assert dom.attrib == {"name": "db", "nofailback": "0", "ordered": "0", "restricted": "yes"}
    assert [n.attrib for n in dom] == [{"name": "one-server1"}, {"name": "one-server2"}]
    # yes == 1 for boolean attributes
    again = ccs.set_failoverdomain(
        "db", restricted=True, nodes=["one-server1", "one-server2"], path=path
    )
    assert again["changes"] == {}


def test_any_rgmanager_resource_keyed_by_primary_attr(guide_conf):
    path = str(guide_conf)
    ccs.set_resource(
        "fs", "data", attrs={"device": "/dev/drbd0", "mountpoint": "/var/lib/one", "fstype": "ext4"},
        path=path,
    )
    ccs.set_resource("nfsexport", "exp", path=path)
    ccs.set_resource("nfsclient", "hosts", attrs={"target": "10.0.0.0/24", "options": "rw"},
                     path=path)
    res = ccs.set_resource("ip", "10.10.11.12", attrs={"sleeptime": 20}, path=path)
    assert res["changes"] == {"sleeptime": {"old": "10", "new": "20"}}
    tags = [(e.tag, e.get("name") or e.get("address")) for e in root(guide_conf).find("rm/resources")]
    assert tags == [
        ("ip", "10.10.11.12"),
        ("script", "opennebula"),
        ("script", "sunstone"),
        ("fs", "data"),
        ("nfsexport", "exp"),
        ("nfsclient", "hosts"),
    ]
    with pytest.raises(CommandExecutionError, match="contradicts the name"):
        ccs.set_resource("ip", "10.0.0.1", attrs={"address": "10.0.0.2"}, path=path)


def test_service_nested_children_and_order(guide_conf):
    path = str(guide_conf)
    tree = [
        {"ip": {"ref": "10.10.11.12"}},
        {"fs": {"ref": "data", "children": [{"nfsexport": {"ref": "exp", "children": [
            {"nfsclient": {"ref": "hosts"}}]}}]}},
        {"script": {"ref": "opennebula"}},
    ]
    res = ccs.set_service("opennebula", attrs={"domain": "opennebula", "recovery": "restart"},
                          resources=tree, path=path)
    assert res["changes"]["resources"]["new"] == tree
    svc = root(guide_conf).find("rm/service")
    assert [e.tag for e in svc] == ["ip", "fs", "script"]
    assert svc.find("fs/nfsexport/nfsclient").get("ref") == "hosts"
    # order matters
    swapped = [tree[2], tree[1], tree[0]]
    res = ccs.set_service("opennebula", attrs={"domain": "opennebula", "recovery": "restart"},
                          resources=swapped, path=path)
    assert list(res["changes"]) == ["resources"]
    # resources=None leaves the children alone; recovery=restart is the default
    res = ccs.set_service("opennebula", attrs={"domain": "opennebula", "autostart": True},
                          path=path)
    assert res["changes"] == {}
    res = ccs.set_service("opennebula", attrs={"domain": "opennebula", "recovery": "relocate"},
                          path=path)
    assert res["changes"] == {"recovery": {"old": "restart", "new": "relocate"}}
    with pytest.raises(CommandExecutionError, match="one-key mapping"):
        ccs.set_service("x", resources=[{"ip": {}, "fs": {}}], path=path)


def test_new_service_goes_after_the_last_service(guide_conf):
    ccs.set_service("second", attrs={"domain": "opennebula"}, path=str(guide_conf))
    rm = root(guide_conf).find("rm")
    assert [(e.tag, e.get("name")) for e in rm] == [
        ("failoverdomains", None),
        ("resources", None),
        ("service", "opennebula"),
        ("service", "second"),
    ]


def test_fence_secrets_are_hidden(guide_conf):
    path = str(guide_conf)
    res = ccs.set_fencedevice("ipmi1", "fence_ipmilan",
                              attrs={"ipaddr": "10.0.0.9", "login": "admin", "passwd": PASSWORD},
                              path=path)
    assert res["changes"]["new"]["passwd"] == "<hidden>"
    res = ccs.set_fencedevice("ipmi1", "fence_ipmilan",
                              attrs={"ipaddr": "10.0.0.9", "login": "admin", "passwd": "other"},
                              path=path)
    assert res["changes"] == {"passwd": {"old": "<hidden>", "new": "<hidden>"}}
    assert PASSWORD not in repr(ccs.get_config(path=path))
    assert "other" not in repr(res)
    # but the file has it (cman needs it)
    assert root(guide_conf).find("fencedevices/fencedevice").get("passwd") == "other"


def test_fence_method_needs_node_and_device(guide_conf):
    path = str(guide_conf)
    with pytest.raises(CommandExecutionError, match="fence device libvirt-kvm is not defined"):
        ccs.set_fence_method("one-server1", "libvirt-kvm", "libvirt-kvm", {"port": "one1"},
                             path=path)
    ccs.set_fencedevice("libvirt-kvm", "fence_xvm", path=path)
    ccs.set_fence_method("one-server1", "libvirt-kvm", "libvirt-kvm", {"port": "one1"}, path=path)
    ccs.set_fence_method("one-server1", "backup", "libvirt-kvm", {"port": "x"}, path=path)
    node = root(guide_conf).find("clusternodes/clusternode")
    assert [m.get("name") for m in node.find("fence")] == ["libvirt-kvm", "backup"]
    res = ccs.remove_fence_method("one-server1", "backup", path=path)
    assert res["changes"]["new"] is None
    assert [m.get("name") for m in root(guide_conf).find("clusternodes/clusternode/fence")] == [
        "libvirt-kvm"
    ]


# --------------------------------------------------------------------------- CLI


def test_sync_activate_ccs_argv_is_a_list_and_password_redacted(run_all, guide_conf, caplog):
    run_all.return_value = {"retcode": 0, "stdout": f"ok {PASSWORD}", "stderr": "", "pid": 1}
    with mock.patch("salt.utils.path.which", side_effect=lambda t: f"/usr/sbin/{t}"):
        ret = ccs.sync_activate(host="one-server1", password=PASSWORD, path=str(guide_conf))
    argv = run_all.call_args.args[0]
    assert argv == ["ccs", "-h", "one-server1", "--sync", "--activate", "-p", PASSWORD]
    kwargs = run_all.call_args.kwargs
    assert kwargs["python_shell"] is False
    assert kwargs["output_loglevel"] == "quiet"
    assert kwargs["log_callback"](f"Executing command {argv}") == (
        "Executing command ['ccs', '-h', 'one-server1', '--sync', '--activate', '-p', '<hidden>']"
    )
    assert ret["result"] is True
    assert ret["command"] == ["ccs", "-h", "one-server1", "--sync", "--activate", "-p", "<hidden>"]
    assert PASSWORD not in repr(ret)
    assert PASSWORD not in caplog.text
    assert "configuration version 17 activated" in ret["comment"]


def test_sync_activate_failure_is_reported_without_password(run_all, guide_conf):
    run_all.return_value = {"retcode": 1, "stdout": "", "stderr": f"bad {PASSWORD}", "pid": 1}
    with mock.patch("salt.utils.path.which", side_effect=lambda t: f"/usr/sbin/{t}"):
        ret = ccs.sync_activate(password=PASSWORD, path=str(guide_conf))
    assert run_all.call_args.args[0][:3] == ["ccs", "-h", "localhost"]
    assert ret["result"] is False
    assert "rc=1" in ret["comment"]
    assert PASSWORD not in repr(ret)


def test_sync_activate_falls_back_to_cman_tool(run_all, guide_conf):
    with mock.patch(
        "salt.utils.path.which",
        side_effect=lambda t: "/usr/sbin/cman_tool" if t == "cman_tool" else None,
    ):
        ret = ccs.sync_activate(host="one-server1", password=PASSWORD, path=str(guide_conf))
    assert run_all.call_args.args[0] == ["cman_tool", "version", "-r"]
    assert ret["result"] is True
    assert PASSWORD not in repr(run_all.call_args)


def test_sync_activate_not_installed(run_all):
    with mock.patch("salt.utils.path.which", return_value=None):
        ret = ccs.sync_activate(host="one-server1", password=PASSWORD)
        assert ret == {
            "result": False,
            "comment": "ccs/cman_tool not installed: copy cluster.conf to every node and "
            "run cman_tool version -r",
            "command": None,
        }
        with pytest.raises(CommandExecutionError, match="ccs/cman_tool not installed"):
            ccs.sync_activate(raise_on_missing=True)
    run_all.assert_not_called()


def test_virtual_needs_no_binary():
    with mock.patch("salt.utils.path.which", return_value=None):
        assert ccs.__virtual__() == "ccs"
