"""_states/ccs.py over the real _modules/ccs.py, dunders mocked (no Salt loader)."""
import os
import pathlib
import shutil
import xml.etree.ElementTree as ET
from unittest import mock

import pytest

from conftest import UTILS, load_ext

ccs_mod = load_ext("modules", "ccs")
ccs_state = load_ext("states", "ccs")

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "ccs"
GUIDE_LVM = FIXTURES / "rhcs_guide_cluster.conf"
PASSWORD = "fence-pa55"


def module_salt():
    names = [
        "get_document",
        "get_version",
        "set_cluster",
        "set_node",
        "remove_node",
        "set_failoverdomain",
        "remove_failoverdomain",
        "set_resource",
        "remove_resource",
        "set_service",
        "remove_service",
        "set_fencedevice",
        "remove_fencedevice",
        "set_fence_method",
        "remove_fence_method",
        "sync_activate",
    ]
    return {f"ccs.{n}": getattr(ccs_mod, n) for n in names}


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture
def run_all():
    return mock.MagicMock(return_value={"retcode": 0, "stdout": "", "stderr": "", "pid": 1})


@pytest.fixture
def configure_loader_modules(opts, run_all):
    context = {}  # one dict = one state run
    return {
        ccs_mod: {"__context__": context, "__salt__": {"cmd.run_all": run_all}, "__opts__": opts,
                  "__utils__": UTILS},
        ccs_state: {"__context__": context, "__salt__": module_salt(), "__opts__": opts,
                    "__utils__": UTILS},
    }


@pytest.fixture
def guide_conf(tmp_path):
    path = tmp_path / "cluster.conf"
    shutil.copy(GUIDE_LVM, path)
    return path


def snapshot(path):
    st = os.stat(path)
    return pathlib.Path(path).read_bytes(), st.st_mtime_ns, st.st_ino


def version(path):
    return ET.parse(path).getroot().get("config_version")


def test_virtual_needs_the_module():
    assert ccs_state.__virtual__() == "ccs"


def test_test_mode_returns_the_diff_and_touches_nothing(guide_conf, opts):
    opts["test"] = True
    before = snapshot(guide_conf)
    ret = ccs_state.node_present("one-server1", nodeid=1, votes=2, path=str(guide_conf))
    assert ret == {
        "name": "one-server1",
        "result": None,
        "changes": {"votes": {"old": None, "new": "2"}},
        "comment": "node one-server1 would be changed",
    }
    ret = ccs_state.cluster_present("opennebula", cman={"two_node": 0}, path=str(guide_conf))
    assert ret["result"] is None
    assert ret["changes"] == {"cman.expected_votes": {"old": "1", "new": None},
                              "cman.two_node": {"old": "1", "new": "0"}}
    assert snapshot(guide_conf) == before


def test_no_change_no_changes_no_bump(guide_conf):
    before = snapshot(guide_conf)
    ret = ccs_state.cluster_present(
        "opennebula", cman={"two_node": 1, "expected_votes": 1}, path=str(guide_conf)
    )
    assert ret == {
        "name": "opennebula",
        "result": True,
        "changes": {},
        "comment": "cluster opennebula is in the desired state",
    }
    assert snapshot(guide_conf) == before


def test_one_bump_per_state_run(guide_conf):
    ccs_state.node_present("one-server3", nodeid=3, path=str(guide_conf))
    ret = ccs_state.node_present("one-server4", nodeid=4, path=str(guide_conf))
    assert ret["result"] is True
    assert ret["comment"] == "node one-server4 changed (config_version 18, already bumped in this run)"
    assert version(guide_conf) == "18"


def test_fencedev_password_is_hidden_everywhere(guide_conf, opts):
    ret = ccs_state.fencedev_present(
        "ipmi1", agent="fence_ipmilan", ipaddr="10.0.0.9", login="admin", passwd=PASSWORD,
        path=str(guide_conf),
    )
    assert ret["result"] is True
    assert ret["changes"]["new"]["passwd"] == "<hidden>"
    assert PASSWORD not in repr(ret)
    opts["test"] = True
    ret = ccs_state.fencedev_present(
        "ipmi1", agent="fence_ipmilan", ipaddr="10.0.0.9", login="admin", passwd="new-one",
        path=str(guide_conf),
    )
    assert ret["changes"] == {"passwd": {"old": "<hidden>", "new": "<hidden>"}}
    assert "new-one" not in repr(ret) and PASSWORD not in repr(ret)


def test_salt_private_kwargs_are_not_attributes(guide_conf):
    ret = ccs_state.fencedev_present(
        "libvirt-kvm", agent="fence_xvm", key_file="/etc/cluster/fence_xvm.key",
        __id__="libvirt-kvm", __sls__="x", path=str(guide_conf),
    )
    assert ret["changes"]["new"] == {
        "agent": "fence_xvm", "key_file": "/etc/cluster/fence_xvm.key", "name": "libvirt-kvm",
    }


def test_fence_method_name_is_the_node_by_default(guide_conf):
    ccs_state.fencedev_present("libvirt-kvm", agent="fence_xvm", path=str(guide_conf))
    ret = ccs_state.fence_method_present(
        "one-server1", method="libvirt-kvm", device="libvirt-kvm", port="one1", path=str(guide_conf)
    )
    assert ret["result"] is True, ret["comment"]
    dev = ET.parse(guide_conf).getroot().find(
        "clusternodes/clusternode[@name='one-server1']/fence/method[@name='libvirt-kvm']/device"
    )
    assert dev.attrib == {"name": "libvirt-kvm", "port": "one1"}
    ret = ccs_state.fence_method_absent("one-server1", method="libvirt-kvm", path=str(guide_conf))
    assert ret["changes"]["new"] is None


def test_module_errors_become_result_false(guide_conf):
    ret = ccs_state.node_present("one-server3", nodeid=1, path=str(guide_conf))
    assert ret["result"] is False
    assert ret["comment"] == "node one-server3: nodeid 1 already used by one-server1"
    assert ret["changes"] == {}


def test_verification_failure_is_reported(guide_conf):
    """A write that does not stick (re-read still differs) is result False."""
    real = ccs_mod.set_node

    def no_op_write(*args, test=False, **kwargs):
        return real(*args, test=True, **kwargs)

    with mock.patch.dict(ccs_state.__salt__, {"ccs.set_node": no_op_write}):
        ret = ccs_state.node_present("one-server1", nodeid=1, votes=5, path=str(guide_conf))
    assert ret["result"] is False
    assert ret["comment"] == "verification failed: node one-server1 still differs in ['votes']"


def test_service_present_seed_attrs(guide_conf):
    ret = ccs_state.service_present(
        "opennebula", domain="opennebula", recovery="restart", autostart=1,
        resources=[{"ip": {"ref": "10.10.11.12"}}, {"script": {"ref": "opennebula"}},
                   {"script": {"ref": "sunstone"}}],
        path=str(guide_conf),
    )
    assert (ret["result"], ret["changes"]) == (True, {})
    ret = ccs_state.service_present(
        "opennebula", domain="opennebula", recovery="restart", max_restarts=3,
        path=str(guide_conf),
    )
    assert ret["changes"] == {"max_restarts": {"old": None, "new": "3"}}


def test_synced_not_installed_is_plain_false(run_all):
    with mock.patch("salt.utils.path.which", return_value=None):
        ret = ccs_state.synced("activate", host="one-server1", password=PASSWORD)
    assert ret == {
        "name": "activate",
        "result": False,
        "changes": {},
        "comment": "ccs/cman_tool not installed: copy cluster.conf to every node and run "
        "cman_tool version -r",
    }
    run_all.assert_not_called()


def test_synced_runs_ccs_and_hides_password(guide_conf, run_all, opts):
    with mock.patch("salt.utils.path.which", side_effect=lambda t: f"/usr/sbin/{t}"):
        ret = ccs_state.synced("activate", host="one-server1", password=PASSWORD, path=str(guide_conf))
        assert ret["result"] is True
        assert ret["changes"] == {"activated": {"old": None, "new": 17}}
        assert PASSWORD not in repr(ret)
        assert "-p <hidden>" in ret["comment"]
        opts["test"] = True
        run_all.reset_mock()
        ret = ccs_state.synced("activate", host="one-server1", password=PASSWORD, path=str(guide_conf))
    assert ret["result"] is None
    run_all.assert_not_called()
