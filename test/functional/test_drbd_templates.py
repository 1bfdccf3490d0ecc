"""drbd/files/default/*.jinja rendered for the Pacemaker/DRBD guide (one-disk, data-disk) and
checked by the real drbdadm from drbd-utils 9.22, in both syntaxes, without a DRBD kernel module.

How drbdadm is made to parse one syntax or the other here:
* ``DRBD_DRIVER_VERSION_OVERRIDE=8.4.11`` makes drbdadm 9 believe the 8.4 module is loaded,
  so it re-executes /usr/lib/drbd/drbdadm-84 (8.4 grammar); ``=9.2.0`` keeps the 9 grammar.
* ``__DRBD_NODE__=cloud-cc01`` is drbd-utils' own test hook: drbdadm "pretends" to be that
  host (the 'on' section that must exist for `dump`).
* the rendered global section sets ``disable-ip-verification`` (the Pacemaker/DRBD guide's SAN
  addresses are not on this machine).
"""
import os
import shutil
import subprocess
import uuid

import jinja2
import pytest
from salt.exceptions import CommandExecutionError

from conftest import REPO, load_ext, template_env, minion_config, require_tools

pytestmark = [pytest.mark.realtool, require_tools("drbdadm")]

drbd_mod = load_ext("modules", "drbd")

SEED_NODES = {"cloud-cc01": "192.168.100.11", "cloud-cc02": "192.168.100.12"}
SEED_RESOURCES = [
    # name, minor, backing disk, meta-disk (indexed external, as in the Pacemaker/DRBD guide),
    # port
    {"name": "one-disk", "minor": 1, "disk": "/dev/sda5", "meta_disk": "/dev/sda3[0]",
     "port": 7788},
    {"name": "data-disk", "minor": 2, "disk": "/dev/sda6", "meta_disk": "/dev/sda3[1]",
     "port": 7789},
]
SEED_COMMON = {
    "protocol": "C",
    "resync_rate": "500M",
    "fencing": "resource-only",
    "startup_options": {"wfc-timeout": 120, "degr-wfc-timeout": 120},
    "disk_options": {"on-io-error": "detach"},
    "net_options": {"timeout": 60, "connect-int": 10, "ping-int": 10, "max-buffers": 2048,
                    "max-epoch-size": 2048},
    "handlers": {
        "pri-on-incon-degr": "/usr/lib/drbd/notify-pri-on-incon-degr.sh; "
                             "/usr/lib/drbd/notify-emergency-reboot.sh; "
                             "echo b > /proc/sysrq-trigger ; reboot -f",
    },
}
OVERRIDE = {"8.4": "8.4.11", "9": "9.2.0"}


@pytest.fixture
def drbd_loader(tmp_path):
    """Salt's real loader (salt.loader.minion_mods) with our _modules and the real cmd
    module. conftest's ``drbd_loader`` runs saltutil.sync_all over file_roots that
    include the whole repo (.venv too), which takes minutes here; nothing needs syncing."""
    import salt.config
    import salt.loader

    conf = minion_config(tmp_path / "salt")
    opts = salt.config.minion_config(str(tmp_path / "salt" / "conf" / "minion"))
    opts.update(conf)
    opts["grains"] = {}
    mods = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))

    class Mods:
        drbd = type("drbd", (), {})()

    for fun in ("dump_config", "has_metadata", "create_md", "get_gi"):
        setattr(Mods.drbd, fun, mods["drbd." + fun])
    return Mods


@pytest.fixture(scope="module")
def env():
    return template_env()


def render(env, tmp_path, syntax, resources=SEED_RESOURCES, nodes=SEED_NODES,
           common=SEED_COMMON, **glob):
    glob.setdefault("disable_ip_verification", True)
    gc = env.get_template("drbd/files/default/global_common.conf.jinja").render(
        syntax=syntax, common=common, **glob)
    (tmp_path / "global_common.conf").write_text(gc)
    lines = ['include "{}";'.format(tmp_path / "global_common.conf")]
    for r in resources:
        res = dict(r, nodes=nodes)
        text = env.get_template("drbd/files/default/resource.res.jinja").render(
            syntax=syntax, resource=res)
        (tmp_path / "{}.res".format(r["name"])).write_text(text)
        lines.append('include "{}";'.format(tmp_path / "{}.res".format(r["name"])))
    conf = tmp_path / "drbd.conf"
    conf.write_text("\n".join(lines) + "\n")
    return conf


def drbdadm(syntax, *args, node="cloud-cc01"):
    env = dict(os.environ, __DRBD_NODE__=node, DRBD_DRIVER_VERSION_OVERRIDE=OVERRIDE[syntax])
    return subprocess.run(["drbdadm", *args], capture_output=True, text=True, env=env,
                          timeout=30, check=False)


@pytest.mark.parametrize("syntax", ["8.4", "9"])
def test_seed_config_accepted_and_values_round_trip(env, tmp_path, syntax):
    conf = render(env, tmp_path, syntax)
    dump = drbdadm(syntax, "-c", str(conf), "dump", "all")
    assert dump.returncode == 0, dump.stderr
    assert "resource one-disk {" in dump.stdout and "resource data-disk {" in dump.stdout
    xml = drbdadm(syntax, "-c", str(conf), "dump-xml", "all")
    assert xml.returncode == 0, xml.stderr
    parsed = drbd_mod.parse_dump_xml(xml.stdout)
    assert sorted(parsed["resources"]) == ["data-disk", "one-disk"]
    for r in SEED_RESOURCES:
        pres = parsed["resources"][r["name"]]
        assert sorted(pres["hosts"]) == ["cloud-cc01", "cloud-cc02"]
        dev, idx = r["meta_disk"].rstrip("]").split("[")
        for host, ip in SEED_NODES.items():
            h = pres["hosts"][host]
            assert (h["address"], h["port"], h["family"]) == (ip, r["port"], "ipv4")
            assert h["volumes"] == {0: {"device": "/dev/drbd{}".format(r["minor"]),
                                        "minor": r["minor"], "disk": r["disk"],
                                        "meta_disk": dev, "meta_index": int(idx)}}
    common = parsed["common"]
    assert common["net"]["protocol"] == "C"
    assert common["disk"]["resync-rate"] == "500M"
    assert common["disk"]["on-io-error"] == "detach"
    assert common["net"]["max-buffers"] == "2048"
    assert common["startup"] == {"wfc-timeout": "120", "degr-wfc-timeout": "120"}
    assert common["handlers"]["pri-on-incon-degr"].endswith("reboot -f")
    if syntax == "8.4":
        assert common["disk"]["fencing"] == "resource-only"
        assert "fencing" not in common["net"]
        assert common["handlers"]["fence-peer"] == "/usr/lib/drbd/crm-fence-peer.sh"
        assert common["handlers"]["after-resync-target"] == "/usr/lib/drbd/crm-unfence-peer.sh"
        assert "options" not in common
    else:
        assert common["net"]["fencing"] == "resource-only"
        assert "fencing" not in common["disk"]
        assert common["handlers"]["fence-peer"] == "/usr/lib/drbd/crm-fence-peer.9.sh"
        assert common["handlers"]["unfence-peer"] == "/usr/lib/drbd/crm-unfence-peer.9.sh"
        assert "node-id 0;" in dump.stdout and "node-id 1;" in dump.stdout
        assert "hosts cloud-cc01 cloud-cc02;" in dump.stdout
        assert pres["connections"][0]["cloud-cc02"]["address"] == "192.168.100.12"


def test_rendered_84_config_is_rejected_by_the_9_parser(env, tmp_path):
    """The syntax switch matters: 8.4's disk{fencing} is a parse error for DRBD 9."""
    conf = render(env, tmp_path, "8.4")
    out = drbdadm("9", "-c", str(conf), "dump", "all")
    assert out.returncode != 0
    assert "but got 'fencing'" in out.stderr


def test_rendered_9_config_with_quorum_is_rejected_by_the_84_parser(env, tmp_path):
    conf = render(env, tmp_path, "9", common=dict(SEED_COMMON, quorum="majority",
                                                  on_no_quorum="io-error"))
    assert drbdadm("9", "-c", str(conf), "dump", "all").returncode == 0
    out = drbdadm("8.4", "-c", str(conf), "dump", "all")
    assert out.returncode != 0
    assert "but got 'quorum'" in out.stderr


def test_quorum_refused_by_template_for_84(env, tmp_path):
    with pytest.raises(jinja2.exceptions.TemplateError, match="DRBD 9 only"):
        render(env, tmp_path, "8.4", common=dict(SEED_COMMON, quorum="majority"))


def test_bad_syntax_value_refused_by_template(env, tmp_path):
    with pytest.raises(jinja2.exceptions.TemplateError, match="syntax must be 8.4 or 9"):
        render(env, tmp_path, "8.3")


def test_internal_meta_disk_three_nodes_drbd9(env, tmp_path):
    nodes = {"cloud-cc01": "10.0.0.1", "cloud-cc02": {"address": "10.0.0.2"},
             "cloud-cc03": {"address": "10.0.0.3", "node_id": 7}}
    res = [{"name": "r0", "minor": 0, "disk": "/dev/vdb", "port": 7789,
            "resource_options": {"auto-promote": False}, "quorum": "majority",
            "net_options": {"allow-two-primaries": False}}]
    conf = render(env, tmp_path, "9", resources=res, nodes=nodes, common={})
    dump = drbdadm("9", "-c", str(conf), "dump", "all")
    assert dump.returncode == 0, dump.stderr
    flat = " ".join(dump.stdout.split())
    for line in ("node-id 0;", "node-id 1;", "node-id 7;", "meta-disk internal;",
                 "hosts cloud-cc01 cloud-cc02 cloud-cc03;", "quorum majority;",
                 "auto-promote no;", "allow-two-primaries no;"):
        assert line in flat, line


def test_lab_r0_equivalent_84(env, tmp_path):
    """The template reproduces the r0.res that ran on the 8.4.11 VMs (lab-notes)."""
    res = [{"name": "r0", "minor": 0, "disk": "/dev/vdb", "meta_disk": "internal",
            "port": 7789, "protocol": "C", "resync_rate": "100M",
            "disk_options": {"c-plan-ahead": 0}, "net_options": {"ping-int": 2,
                                                                 "ping-timeout": 20}}]
    conf = render(env, tmp_path, "8.4", resources=res,
                  nodes={"node1": "10.233.0.11", "node2": "10.233.0.12"}, common={})
    xml = drbdadm("8.4", "-c", str(conf), "dump-xml", "all", node="node1")
    assert xml.returncode == 0, xml.stderr
    r0 = drbd_mod.parse_dump_xml(xml.stdout)["resources"]["r0"]
    assert r0["options"] == {"net": {"protocol": "C", "ping-int": "2", "ping-timeout": "20"},
                             "disk": {"resync-rate": "100M", "c-plan-ahead": "0"}}
    assert r0["hosts"]["node2"]["volumes"][0]["meta_disk"] == "internal"
    assert r0["hosts"]["node2"]["address"] == "10.233.0.12"


@pytest.mark.parametrize("syntax,argv,expect", [
    ("8.4", ["--", "--overwrite-data-of-peer", "primary", "one-disk"],
     "drbdsetup-84 primary 1 --overwrite-data-of-peer"),
    ("9", ["primary", "--force", "one-disk"], "drbdsetup primary one-disk --force"),
    ("8.4", ["secondary", "one-disk"], "drbdsetup-84 secondary 1"),
    ("8.4", ["create-md", "--force", "one-disk"], "drbdmeta 1 v08 /dev/sda3 0 create-md --force"),
    ("9", ["create-md", "--force", "one-disk"], "drbdmeta 1 v09 /dev/sda3 0 create-md 1 --force"),
])
def test_module_argv_understood_by_real_drbdadm(env, tmp_path, syntax, argv, expect):
    """The argv the module sends (asserted in the unit tests) as drbdadm -d (dry run) sees it."""
    conf = render(env, tmp_path, syntax)
    out = drbdadm(syntax, "-c", str(conf), "-d", *argv)
    assert out.returncode == 0, out.stderr
    assert expect in out.stdout


def test_dump_config_through_salt_loader(env, tmp_path, drbd_loader, monkeypatch):
    conf = render(env, tmp_path, "8.4")
    monkeypatch.setenv("__DRBD_NODE__", "cloud-cc01")
    monkeypatch.setenv("DRBD_DRIVER_VERSION_OVERRIDE", "8.4.11")
    parsed = drbd_loader.drbd.dump_config(config=str(conf))
    assert parsed["resources"]["data-disk"]["hosts"]["cloud-cc01"]["volumes"][0]["minor"] == 2
    assert parsed["file"] == str(conf)


# ----------------------------------------------------------------------- rule 1, for real
def _losetup(image):
    proc = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        pytest.skip("no loop devices: {}".format(proc.stderr.strip()))
    return proc.stdout.strip()


@pytest.fixture
def loopdev(tmp_path):
    if os.geteuid() != 0 or not shutil.which("losetup") or not shutil.which("mkfs.ext4"):
        pytest.skip("needs root, losetup and mkfs.ext4")
    image = tmp_path / "backing-{}.img".format(uuid.uuid4().hex[:6])
    subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "onedata", str(image)], check=True)
    dev = _losetup(image)
    yield dev
    subprocess.run(["losetup", "-d", dev], check=False)


@pytest.mark.parametrize("syntax", ["8.4", "9"])
def test_rule_create_md_real_blkid_and_drbdmeta_on_loop_device(env, tmp_path, drbd_loader,
                                                               monkeypatch, loopdev, syntax):
    res = [{"name": "tr", "minor": 7, "disk": loopdev, "meta_disk": "internal", "port": 7799}]
    conf = str(render(env, tmp_path, syntax, resources=res, common={}))
    monkeypatch.setenv("__DRBD_NODE__", "cloud-cc01")
    monkeypatch.setenv("DRBD_DRIVER_VERSION_OVERRIDE", OVERRIDE[syntax])
    mod = drbd_loader.drbd
    assert mod.has_metadata("tr", config=conf) is False
    with pytest.raises(CommandExecutionError) as exc:
        mod.create_md("tr", node="cloud-cc01", config=conf)
    assert "backing device {} of resource tr volume 0 carries ext4 (LABEL=onedata".format(
        loopdev) in str(exc.value)
    assert mod.has_metadata("tr", config=conf) is False  # nothing was written
    assert mod.create_md("tr", wipe_backing_device=True, node="cloud-cc01", config=conf)
    gi = mod.get_gi("tr", config=conf)
    assert gi["current"] == drbd_mod.UUID_JUST_CREATED and gi["bitmap"] == 0
    assert drbd_mod.gi_has_history(gi) is False
    with pytest.raises(CommandExecutionError, match="already has DRBD metadata"):
        mod.create_md("tr", node="cloud-cc01", config=conf)
