"""ccs states through Salt's real loader and state engine against the Red Hat cluster guide's
cluster.conf.

One ``state.high`` call is one state run, i.e. one ccs change set.
"""
import os
import pathlib
import shutil
import xml.etree.ElementTree as ET

import pytest
import yaml

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "ccs"
GUIDE = FIXTURES / "rhcs_guide_cluster.conf"
GUIDE_FENCED = FIXTURES / "rhcs_guide_fenced_cluster.conf"
GUIDE_FENCE_VIRT = FIXTURES / "rhcs_guide_fence_virt.conf"
TEMPLATE = (
    pathlib.Path(__file__).resolve().parent.parent.parent
    / "opennebula"
    / "files"
    / "default"
    / "fence_virt.conf.jinja"
)

# the Red Hat cluster guide, "Step 3/4", with the attributes of the PRINTED cluster.conf: the
# ccs command's monitor_link=1 (ip) and autostart=1 (service) are not in the printed file, so
# not here (both are agent defaults: see test_defaults_from_the_ccs_commands_change_nothing).
GUIDE_STATES = [
    ("opennebula", "cluster_present", {"cman": {"two_node": 1, "expected_votes": 1}}),
    ("one-server1", "node_present", {"nodeid": 1}),
    ("one-server2", "node_present", {"nodeid": 2}),
    (
        "fod-opennebula",
        "failoverdomain_present",
        {
            "name": "opennebula",
            "ordered": True,
            "restricted": False,
            "nofailback": False,
            "nodes": {"one-server1": 1, "one-server2": 2},
        },
    ),
    ("10.10.11.12", "resource_present", {"type": "ip", "attrs": {"sleeptime": 10}}),
    (
        "res-opennebula",
        "resource_present",
        {"name": "opennebula", "type": "script", "attrs": {"file": "/etc/init.d/opennebula"}},
    ),
    (
        "res-sunstone",
        "resource_present",
        {"name": "sunstone", "type": "script", "attrs": {"file": "/etc/init.d/opennebula-sunstone"}},
    ),
    (
        "svc-opennebula",
        "service_present",
        {
            "name": "opennebula",
            "domain": "opennebula",
            "recovery": "restart",
            "resources": [
                {"ip": {"ref": "10.10.11.12"}},
                {"script": {"ref": "opennebula"}},
                {"script": {"ref": "sunstone"}},
            ],
        },
    ),
]

# the Red Hat cluster guide, "Fencing and Virtual Clusters", step 3
FENCE_STATES = [
    (
        "libvirt-kvm",
        "fencedev_present",
        {
            "agent": "fence_xvm",
            "key_file": "/etc/cluster/fence_xvm.key",
            "multicast_address": "225.0.0.12",
            "ipport": 1229,
        },
    ),
    (
        "fence-one-server1",
        "fence_method_present",
        {"node": "one-server1", "method": "libvirt-kvm", "device": "libvirt-kvm", "port": "one1"},
    ),
    (
        "fence-one-server2",
        "fence_method_present",
        {"node": "one-server2", "method": "libvirt-kvm", "device": "libvirt-kvm", "port": "one2"},
    ),
]


def sls(states, path):
    """SLS text for ``states`` in the given order, all on ``path``."""
    data = {}
    for order, (sid, fun, kwargs) in enumerate(states, start=1):
        args = [{k: v} for k, v in kwargs.items()]
        args += [{"path": str(path)}, {"order": order}]
        data[sid] = {f"ccs.{fun}": args}
    return yaml.safe_dump(data, sort_keys=False)


def run(loaders, states, path, test=False):
    """One state run of the SLS (YAML-typed data) through ``state.high``."""
    high = {}
    for sid, body in yaml.safe_load(sls(states, path)).items():
        (decl, args), = body.items()
        mod, fun = decl.split(".")
        high[sid] = {mod: [fun, *args], "__sls__": "ccs_test", "__env__": "base"}
    ret = loaders.modules.state.high(high, test=test)
    results = {r.id: r for r in ret}
    assert set(results) == {sid for sid, _, _ in states}, ret
    return results


def tree(path_or_text):
    """(tag, attrs, children) with whitespace, comments and cluster@config_version dropped."""
    if isinstance(path_or_text, pathlib.Path):
        root = ET.parse(path_or_text).getroot()
    else:
        root = ET.fromstring(path_or_text)

    def walk(elem):
        attrs = dict(elem.attrib)
        if elem.tag == "cluster":
            attrs.pop("config_version", None)
        return (elem.tag, attrs, [walk(k) for k in elem if isinstance(k.tag, str)])

    return walk(root)


def version(path):
    return int(ET.parse(path).getroot().get("config_version"))


def snapshot(path):
    st = os.stat(path)
    return pathlib.Path(path).read_bytes(), st.st_mtime_ns, st.st_ino


@pytest.fixture(scope="module")
def ccs_loaders(tmp_path_factory):
    """Salt's real loader (like conftest's ``salt_loaders``), once for this file: setting it
    up costs seconds to minutes on a busy 2-core box, and the ccs states keep nothing in it
    between runs (each ``state.high`` is a new State with its own context)."""
    from conftest import loaders_at

    with loaders_at(tmp_path_factory.mktemp("ccs-salt")) as loaders:
        yield loaders


@pytest.fixture
def loaders(ccs_loaders):
    ccs_loaders.context.clear()
    return ccs_loaders


@pytest.fixture
def conf(tmp_path):
    return tmp_path / "etc" / "cluster" / "cluster.conf"


@pytest.mark.parametrize("start", ["missing", "empty"])
def test_guide_states_reproduce_the_guide_file(loaders, conf, start):
    if start == "empty":
        conf.parent.mkdir(parents=True)
        conf.write_text("")
    results = run(loaders, GUIDE_STATES, conf)
    for sid, res in results.items():
        assert res.result is True, (sid, res.comment)
        assert res.changes["old"] is None, sid
    assert results["svc-opennebula"].changes["new"]["resources"] == [
        {"ip": {"ref": "10.10.11.12"}},
        {"script": {"ref": "opennebula"}},
        {"script": {"ref": "sunstone"}},
    ]
    # element by element, attribute by attribute, in the Red Hat cluster guide's order
    assert tree(conf) == tree(GUIDE)
    # one state run = one change set = config_version 1 (ccs --createcluster starts at 1)
    assert version(conf) == 1
    assert oct(os.stat(conf).st_mode & 0o777) == "0o640"
    assert os.stat(conf).st_uid == 0
    assert conf.read_text().startswith('<?xml version="1.0"?>\n<cluster config_version="1"')

    before = snapshot(conf)
    again = run(loaders, GUIDE_STATES, conf)
    for sid, res in again.items():
        assert res.result is True, (sid, res.comment)
        assert res.changes == {}, sid
        assert "is in the desired state" in res.comment
    assert snapshot(conf) == before
    assert version(conf) == 1


def test_guide_file_is_in_the_desired_state(loaders, conf):
    conf.parent.mkdir(parents=True)
    shutil.copy(GUIDE, conf)
    before = snapshot(conf)
    results = run(loaders, GUIDE_STATES, conf)
    assert {sid: (r.result, r.changes) for sid, r in results.items()} == {
        sid: (True, {}) for sid, _, _ in GUIDE_STATES
    }
    assert snapshot(conf) == before
    assert version(conf) == 17


def test_defaults_from_the_ccs_commands_change_nothing(loaders, conf):
    """``--addresource ip ... monitor_link=1`` and ``--addservice ... autostart=1`` equal the
    printed file, which lacks both attributes (agent defaults 1)."""
    conf.parent.mkdir(parents=True)
    shutil.copy(GUIDE, conf)
    before = snapshot(conf)
    states = [
        ("10.10.11.12", "resource_present",
         {"type": "ip", "attrs": {"sleeptime": 10, "monitor_link": 1}}),
        ("svc-opennebula", "service_present",
         {**GUIDE_STATES[-1][2], "autostart": 1}),
    ]
    results = run(loaders, states, conf)
    assert [(r.result, r.changes) for r in results.values()] == [(True, {}), (True, {})]
    assert snapshot(conf) == before
    # a non-default value is a change, reported at attribute level
    states[0][2]["attrs"]["monitor_link"] = 0
    results = run(loaders, states[:1], conf)
    assert results["10.10.11.12"].changes == {"monitor_link": {"old": None, "new": "0"}}
    assert version(conf) == 18


def test_fencing_is_one_change_set(loaders, conf):
    conf.parent.mkdir(parents=True)
    shutil.copy(GUIDE, conf)
    results = run(loaders, FENCE_STATES, conf)
    for sid, res in results.items():
        assert res.result is True, (sid, res.comment)
    assert results["libvirt-kvm"].changes == {
        "old": None,
        "new": {
            "agent": "fence_xvm",
            "ipport": "1229",
            "key_file": "/etc/cluster/fence_xvm.key",
            "multicast_address": "225.0.0.12",
            "name": "libvirt-kvm",
        },
    }
    assert results["fence-one-server2"].changes["new"] == {
        "node": "one-server2",
        "method": "libvirt-kvm",
        "device": {"name": "libvirt-kvm", "port": "one2"},
    }
    assert "17 -> 18" in results["libvirt-kvm"].comment
    assert "already bumped in this run" in results["fence-one-server2"].comment
    assert tree(conf) == tree(GUIDE_FENCED)
    assert version(conf) == 18  # bumped exactly once for the three changes

    before = snapshot(conf)
    again = run(loaders, GUIDE_STATES + FENCE_STATES, conf)
    assert all(r.result is True and r.changes == {} for r in again.values())
    assert snapshot(conf) == before

    # a later run is a new change set: one more bump
    changed = [(FENCE_STATES[1][0], FENCE_STATES[1][1], {**FENCE_STATES[1][2], "port": "vm1"})]
    res = run(loaders, changed, conf)["fence-one-server1"]
    assert res.changes == {"port": {"old": "one1", "new": "vm1"}}
    assert version(conf) == 19


def test_test_mode_touches_nothing(loaders, conf):
    conf.parent.mkdir(parents=True)
    shutil.copy(GUIDE, conf)
    before = snapshot(conf)
    results = run(loaders, FENCE_STATES, conf, test=True)
    assert [r.result for r in results.values()] == [None, None, None]
    assert results["fence-one-server1"].changes["new"]["device"] == {
        "name": "libvirt-kvm",
        "port": "one1",
    }
    assert snapshot(conf) == before
    assert not [p for p in conf.parent.iterdir() if p.name != "cluster.conf"]


def test_test_mode_creates_no_file(loaders, conf):
    results = run(loaders, GUIDE_STATES, conf, test=True)
    assert {r.result for r in results.values()} == {None}
    assert results["opennebula"].changes == {
        "old": None,
        "new": {"name": "opennebula", "cman": {"two_node": "1", "expected_votes": "1"}},
    }
    assert not conf.exists()


def test_fence_method_without_node_fails_clearly(loaders, conf):
    conf.parent.mkdir(parents=True)
    shutil.copy(GUIDE, conf)
    states = [("x", "fence_method_present",
               {"node": "one-server9", "method": "m", "device": "libvirt-kvm", "port": "x"})]
    res = run(loaders, states, conf)["x"]
    assert res.result is False
    assert "node one-server9 is not in cluster.conf" in res.comment
    assert version(conf) == 17


def test_absent_states(loaders, conf):
    conf.parent.mkdir(parents=True)
    shutil.copy(GUIDE_FENCED, conf)
    states = [
        ("svc", "service_absent", {"name": "opennebula"}),
        ("sunstone", "resource_absent", {"type": "script"}),
        ("10.10.11.12", "resource_absent", {"type": "ip"}),
        ("libvirt-kvm", "fencedev_absent", {}),
        ("one-server2", "node_absent", {}),
    ]
    results = run(loaders, states, conf)
    assert results["sunstone"].changes == {
        "old": {"type": "script", "file": "/etc/init.d/opennebula-sunstone", "name": "sunstone"},
        "new": None,
    }
    assert all(r.result is True and r.changes["new"] is None for r in results.values())
    assert version(conf) == 19
    root = ET.parse(conf).getroot()
    assert root.find("rm/service") is None
    assert [e.tag for e in root.find("rm/resources")] == ["script"]
    assert root.find("fencedevices").findall("fencedevice") == []
    assert [n.get("name") for n in root.iter("clusternode")] == ["one-server1"]
    again = run(loaders, states, conf)
    assert all(r.result is True and r.changes == {} for r in again.values())
    assert version(conf) == 19


def _schema_path():
    for cand in (os.environ.get("CCS_CLUSTER_RNG"), "/var/lib/cluster/cluster.rng"):
        if cand and os.path.isfile(cand):
            return cand
    return None


@pytest.mark.skipif(
    _schema_path() is None,
    reason="cluster.rng is generated on RHEL 6 nodes by ccs_update_schema "
    "(/var/lib/cluster/cluster.rng); set CCS_CLUSTER_RNG to validate here",
)
def test_written_file_validates_against_cluster_rng(loaders, conf):
    lxml_etree = pytest.importorskip("lxml.etree")
    run(loaders, GUIDE_STATES, conf)
    run(loaders, FENCE_STATES, conf)
    schema = lxml_etree.RelaxNG(lxml_etree.parse(_schema_path()))
    doc = lxml_etree.parse(str(conf))
    assert schema.validate(doc), schema.error_log


def _words(text):
    return [
        w
        for line in text.splitlines()
        if not line.startswith(("===", "#"))
        for w in line.split()
    ]


def test_fence_virt_conf_template_reproduces_the_guide(tmp_path):
    import salt.config
    import salt.utils.templates

    opts = salt.config.minion_config(None)
    opts.update(cachedir=str(tmp_path), file_client="local", file_roots={"base": [str(tmp_path)]})
    context = {
        "backend": "libvirt",
        "libvirt_uri": "qemu:///system",
        "listener": "multicast",
        "multicast_interface": "eth0",
        "multicast_port": 1229,
        "multicast_family": "ipv4",
        "multicast_address": "225.0.0.12",
        "key_file": "/etc/cluster/fence_xvm.key",
        "module_path": "/usr/lib64/fence-virt",
    }
    out = salt.utils.templates.JINJA(
        str(TEMPLATE), to_str=True, opts=opts, saltenv="base", grains={}, pillar={},
        salt={}, **context,
    )
    assert out["result"], out
    rendered = out["data"]
    assert _words(rendered) == _words(GUIDE_FENCE_VIRT.read_text())
    # and it is not vacuous: another interface shows up
    context["multicast_interface"] = "br0"
    out = salt.utils.templates.JINJA(
        str(TEMPLATE), to_str=True, opts=opts, saltenv="base", grains={}, pillar={},
        salt={}, **context,
    )
    assert 'interface = "br0";' in out["data"]
    # without an interface the line is left out (fence_virtd then uses its default)
    context.pop("multicast_interface")
    out = salt.utils.templates.JINJA(
        str(TEMPLATE), to_str=True, opts=opts, saltenv="base", grains={}, pillar={},
        salt={}, **context,
    )
    assert "interface" not in out["data"]
    assert 'key_file = "/etc/cluster/fence_xvm.key";' in out["data"]


@pytest.mark.slow
def test_salt_call_state_sls_guide(salt_call, tmp_path):
    """The SLS shape the formula uses, through a real ``salt-call --local state.sls``:
    the Red Hat cluster guide + its fencing in one run = config_version 1; the second run
    changes nothing."""
    conf = tmp_path / "cluster" / "cluster.conf"
    salt_call.configure(
        pillar={"ccs_path": str(conf)}, extra={"file_roots": {"base": [str(FIXTURES)]}}
    )
    _, data = salt_call.run("state.sls", "rhcs_guide")
    results = data["local"]
    assert len(results) == 11
    bad = {k: v["comment"] for k, v in results.items() if v["result"] is not True}
    assert not bad
    assert all(v["changes"] for v in results.values())
    assert tree(conf) == tree(GUIDE_FENCED)
    assert version(conf) == 1
    before = snapshot(conf)
    _, data = salt_call.run("state.sls", "rhcs_guide")
    assert all(v["result"] is True and v["changes"] == {} for v in data["local"].values())
    assert snapshot(conf) == before
