"""drbd.config rendered by the REAL SLS (`salt-call --local state.apply drbd.config`, private
config dir, grains id cloud-cc01) for the render-matrix pillar that uses DRBD
(storage variant drbd_aoe_lvm x stack pacemaker), in both drbd:syntax values, then parsed by
the real drbdadm (drbd-utils 9.22) without a kernel module:

* ``DRBD_DRIVER_VERSION_OVERRIDE=8.4.11`` -> drbdadm-84 (8.4 grammar), ``9.2.0`` -> 9 grammar;
* ``__DRBD_NODE__=<host>`` makes drbdadm pretend to be that `on` host;
* pillar ``drbd:global:disable_ip_verification: true``: the SAN addresses are not local here.

The config dir is pointed into tmp with pillar ``drbd:lookup:config_dir``/``global_common``;
a tmp drbd.conf includes the written files like Debian's /etc/drbd.conf does."""
import os
import re
import subprocess

import pytest

from conftest import deep_merge, load_ext, require_tools
from render.test_render_matrix import matrix_pillar

pytestmark = [pytest.mark.render, pytest.mark.realtool, require_tools("drbdadm")]

drbd_mod = load_ext("modules", "drbd")
OVERRIDE = {"8.4": "8.4.11", "9": "9.2.0"}


def drbd_pillar(tmp_path, syntax, extra=None):
    conf_dir = tmp_path / "drbd.d"
    p = matrix_pillar("drbd_aoe_lvm", "pacemaker")
    p = deep_merge(p, {"drbd": {
        "syntax": syntax,
        "global": {"disable_ip_verification": True},
        "lookup": {"config_dir": str(conf_dir), "global_common": str(conf_dir / "global_common.conf")},
    }})
    return deep_merge(p, extra or {})


def apply_config(salt_call, pillar, minion_id="cloud-cc01"):
    salt_call.configure(minion_id=minion_id, pillar=pillar)
    proc, data = salt_call.run("state.apply", "drbd.config")
    ret = data["local"]
    assert all(r["result"] is True for r in ret.values()), ret
    return {r["__id__"]: r for r in ret.values()}


def drbdadm(syntax, conf, *args, node="cloud-cc01"):
    env = dict(os.environ, __DRBD_NODE__=node, DRBD_DRIVER_VERSION_OVERRIDE=OVERRIDE[syntax])
    return subprocess.run(["drbdadm", "-c", str(conf), *args], capture_output=True, text=True,
                          env=env, timeout=30, check=False)


def top_conf(tmp_path):
    conf = tmp_path / "drbd.conf"
    conf.write_text('include "{0}/drbd.d/global_common.conf";\ninclude "{0}/drbd.d/*.res";\n'.format(tmp_path))
    return conf


def check_against_pillar(syntax, conf, pillar, on_names=None):
    """drbdadm dump (syntax check) + dump-xml values == pillar, seen from every front-end."""
    on_names = on_names or {}
    frontends = pillar["cluster"]["frontends"]
    net = pillar["drbd"].get("network", "san")
    for fe in sorted(frontends):
        host = on_names.get(fe, fe)
        dump = drbdadm(syntax, conf, "dump", "all", node=host)
        assert dump.returncode == 0, dump.stderr
        xml = drbdadm(syntax, conf, "dump-xml", "all", node=host)
        assert xml.returncode == 0, xml.stderr
        parsed = drbd_mod.parse_dump_xml(xml.stdout)
        if syntax == "9":  # dump-xml has no node-id; the text dump does
            ids = sorted(int(x) for x in re.findall(r"node-id (\d+);", dump.stdout))
            assert ids == sorted(list(range(len(frontends))) * len(pillar["drbd"]["resources"]))
        assert sorted(parsed["resources"]) == sorted(pillar["drbd"]["resources"])
        for rname, res in pillar["drbd"]["resources"].items():
            r = parsed["resources"][rname]
            assert sorted(r["hosts"]) == sorted(on_names.get(f, f) for f in frontends)
            for f, addrs in frontends.items():
                h = r["hosts"][on_names.get(f, f)]
                assert h["address"] == addrs[net] and h["port"] == res["port"]
                vol = h["volumes"][0]
                assert vol["minor"] == res["minor"] and vol["disk"] == res["disk"]
                meta = res.get("meta_disk", "internal")
                if "[" in meta:
                    assert (vol["meta_disk"], vol["meta_index"]) == (meta.split("[")[0], int(meta.split("[")[1].rstrip("]")))
                else:
                    assert vol["meta_disk"] == meta
        common = parsed["common"]
        pc = pillar["drbd"]["common"]
        assert common["net"]["protocol"] == pc["protocol"]
        assert common["disk"]["resync-rate"] == pc["resync_rate"]
        for k, v in pc.get("net", {}).items():
            assert common["net"][k] == str(v)
        for k, v in pc.get("startup", {}).items():
            assert common["startup"][k] == str(v)
    return parsed


@pytest.mark.parametrize("syntax", ["8.4", "9"])
def test_matrix_pillar_config_parses_and_matches(salt_call, tmp_path, syntax):
    pillar = drbd_pillar(tmp_path, syntax)
    first = apply_config(salt_call, pillar)
    assert {"drbd-config-global-common", "drbd-config-resource-one-disk", "drbd-config-resource-data-disk"} <= set(first)
    assert first["drbd-config-resource-one-disk"]["changes"]
    text = (tmp_path / "drbd.d" / "one-disk.res").read_text()
    assert f"Written for DRBD {syntax} syntax" in text
    assert ("connection-mesh" in text) == (syntax == "9")
    check_against_pillar(syntax, top_conf(tmp_path), pillar)
    # second run: zero changes
    proc, data = salt_call.run("state.apply", "drbd.config")
    assert all(not r["changes"] for r in data["local"].values()), data


def test_syntax9_three_frontends_internal_meta_options_and_node_names(salt_call, tmp_path):
    """DRBD 9: 3 front-ends (connection-mesh), internal meta-disk, per-resource options,
    handlers, fencing, and drbd:node_names (minion id -> `uname -n`)."""
    extra = {
        "cluster": {"frontends": {"cloud-cc03": {"san": "192.168.100.13", "lan": "10.10.11.23"}}},
        "opennebula": {"db": {"replication": "none"}},
        "drbd": {
            "node_names": {"cloud-cc03": "cc03"},
            "common": {"fencing": "resource-only", "handlers": {"split-brain": "/usr/lib/drbd/notify-split-brain.sh root"}},
            "resources": {"data-disk": {"meta_disk": "internal", "net": {"max-buffers": 8000},
                                        "disk_options": {"al-extents": 3389},
                                        "options": {"quorum": "majority"}}},
        },
    }
    pillar = drbd_pillar(tmp_path, "9", extra)
    apply_config(salt_call, pillar)
    parsed = check_against_pillar("9", top_conf(tmp_path), pillar, on_names={"cloud-cc03": "cc03"})
    data = parsed["resources"]["data-disk"]
    assert data["options"]["net"]["max-buffers"] == "8000"
    assert data["options"]["disk"]["al-extents"] == "3389"
    assert data["options"]["options"]["quorum"] == "majority"
    assert parsed["common"]["net"]["fencing"] == "resource-only"
    assert "crm-fence-peer.9.sh" in parsed["common"]["handlers"]["fence-peer"]
    assert len(data["connections"]) == 3  # mesh of 3


def test_syntax84_fencing_lands_in_disk_section(salt_call, tmp_path):
    pillar = drbd_pillar(tmp_path, "8.4", {"drbd": {"common": {"fencing": "resource-only"}}})
    apply_config(salt_call, pillar)
    parsed = check_against_pillar("8.4", top_conf(tmp_path), pillar)
    assert parsed["common"]["disk"]["fencing"] == "resource-only"
    assert parsed["common"]["handlers"]["after-resync-target"].endswith("crm-unfence-peer.sh")


SBD_ON = {"pacemaker": {"stonith": {"devices": None, "sbd": {
    "enabled": True, "devices": [{"path": "/dev/disk/by-id/virtio-sbd0"}]}}}}
FENCE_PEER = {"8.4": ("disk", "after-resync-target", "/usr/lib/drbd/crm-fence-peer.sh",
                      "/usr/lib/drbd/crm-unfence-peer.sh"),
              "9": ("net", "unfence-peer", "/usr/lib/drbd/crm-fence-peer.9.sh",
                    "/usr/lib/drbd/crm-unfence-peer.9.sh")}


@pytest.mark.parametrize("syntax", ["8.4", "9"])
def test_sbd_fencing_gives_resource_and_stonith_with_crm_handlers(salt_call, tmp_path, syntax):
    """The Pacemaker/DRBD guide's variant with SBD on: every resource inherits
    `fencing resource-and-stonith` (8.4: disk section, 9: net section) and the crm-fence-peer
    handlers of that DRBD line, as the real drbdadm parses them."""
    pillar = drbd_pillar(tmp_path, syntax, SBD_ON)
    apply_config(salt_call, pillar)
    parsed = check_against_pillar(syntax, top_conf(tmp_path), pillar)
    section, unfence, fence_sh, unfence_sh = FENCE_PEER[syntax]
    common = parsed["common"]
    assert common[section]["fencing"] == "resource-and-stonith"
    assert common["handlers"]["fence-peer"] == fence_sh
    assert common["handlers"][unfence] == unfence_sh
    other = "net" if section == "disk" else "disk"
    assert "fencing" not in common.get(other, {})
    for rname in pillar["drbd"]["resources"]:  # nothing overrides it per resource
        assert "fencing" not in parsed["resources"][rname]["options"].get(section, {})


def test_without_sbd_drbd_has_no_fencing(salt_call, tmp_path):
    pillar = drbd_pillar(tmp_path, "9")
    apply_config(salt_call, pillar)
    parsed = check_against_pillar("9", top_conf(tmp_path), pillar)
    assert "fencing" not in parsed["common"].get("net", {})
    assert "fence-peer" not in parsed["common"].get("handlers", {})


def test_explicit_drbd_fencing_wins_over_the_sbd_default(salt_call, tmp_path):
    pillar = drbd_pillar(tmp_path, "8.4", deep_merge(SBD_ON, {"drbd": {"common": {
        "fencing": "resource-only"}}}))
    apply_config(salt_call, pillar)
    parsed = check_against_pillar("8.4", top_conf(tmp_path), pillar)
    assert parsed["common"]["disk"]["fencing"] == "resource-only"
