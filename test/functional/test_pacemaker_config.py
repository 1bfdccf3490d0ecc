"""pacemaker.config: corosync.conf + authkey written by a real `salt-call --local state.apply`
into tmp paths (pacemaker:lookup corosync_conf/authkey), checked by corosync's own parser
(`corosync -t -c FILE`: parses, checks the nodelist/links/quorum and loads the authkey, then
exits without starting anything).

`corosync -t` insists that one nodelist address belongs to this host, so the pillar puts the
front-ends on loopback addresses (san 127.0.0.0/24: cloud-cc01 = 127.0.0.1 is local).
"""
import base64
import os
import re
import stat
import subprocess

import pytest
from conftest import deep_merge, example_pillar, require_tools

pytestmark = [pytest.mark.realtool, require_tools("corosync")]

KEY = base64.b64encode(bytes(range(256))).decode()  # 256 bytes: corosync wants >= 128


def loopback_pillar(out, frontends=2, **over):
    fes = {f"cloud-cc0{i}": {"san": f"127.0.0.{i}", "lan": f"127.0.1.{i}"}
           for i in range(1, frontends + 1)}
    p = example_pillar()
    p["cluster"]["frontends"] = fes
    p["cluster"]["networks"] = {"san": "127.0.0.0/24", "lan": "127.0.1.0/24"}
    p["cluster"]["hypervisors"] = {"cloud-01": {"san": "127.0.0.31"}}
    p["cluster"]["vips"] = {"lan": "127.0.1.10", "san": "127.0.0.10"}
    p["storage"]["variant"] = "moosefs"
    p["storage"]["moosefs"]["goal"] = 1
    if frontends != 2:
        p["opennebula"]["db"]["replication"] = "none"
    p["secrets"]["corosync_authkey"] = KEY
    p = deep_merge(p, {"pacemaker": {"lookup": {
        "corosync_conf": str(out / "corosync" / "corosync.conf"),
        "authkey": str(out / "corosync" / "authkey")}}})
    return deep_merge(p, over)


def apply(salt, pillar, minion_id="cloud-cc01"):
    salt.configure(minion_id=minion_id, pillar=pillar)
    proc, data = salt.run("state.apply", "pacemaker.config", check=False)
    assert isinstance(data, dict) and isinstance(data.get("local"), dict), proc.stdout + proc.stderr
    return proc, {v["__id__"]: v for v in data["local"].values()}


def corosync_t(conf):
    return subprocess.run(["corosync", "-t", "-c", str(conf)], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def out(tmp_path):
    return tmp_path / "etc"


def test_two_node_config_passes_corosyncs_parser(salt_call, out):
    proc, states = apply(salt_call, loopback_pillar(out))
    assert all(s["result"] is True for s in states.values()), states
    conf = out / "corosync" / "corosync.conf"
    text = conf.read_text()
    check = corosync_t(conf)
    assert check.returncode == 0, check.stdout + check.stderr
    assert re.search(r"^\s+cluster_name: one-ha$", text, re.M)
    assert re.search(r"^\s+transport: knet$", text, re.M)
    assert re.search(r"^\s+token: 3000$", text, re.M)
    assert f"keyfile: {out / 'corosync' / 'authkey'}" in text
    assert re.search(r"^\s+two_node: 1$", text, re.M)
    nodes = re.findall(r"name: (\S+)\s+nodeid: (\d+)\s+ring0_addr: (\S+)\s+ring1_addr: (\S+)", text)
    assert nodes == [("cloud-cc01", "1", "127.0.0.1", "127.0.1.1"),
                     ("cloud-cc02", "2", "127.0.0.2", "127.0.1.2")]
    assert stat.S_IMODE(conf.stat().st_mode) == 0o644


def test_authkey_is_binary_0400_and_never_printed(salt_call, out):
    proc, states = apply(salt_call, loopback_pillar(out))
    key = out / "corosync" / "authkey"
    assert key.read_bytes() == bytes(range(256))
    st = key.stat()
    assert stat.S_IMODE(st.st_mode) == 0o400 and st.st_uid == 0 and st.st_gid == 0
    assert KEY not in proc.stdout and KEY not in proc.stderr
    assert KEY[:24] not in proc.stdout
    dec = states["pacemaker-config-authkey"]
    # what salt-call prints: digests only
    assert set(dec["changes"]) == {"old", "new"} and re.fullmatch(r"[0-9a-f]{64}", dec["changes"]["new"])
    assert dec["comment"] == "File was updated."
    # the key is not even in the rendered SLS (file.decode reads the pillar at run time)
    show, data = salt_call.run("state.show_sls", "pacemaker.config")
    assert KEY not in show.stdout


def test_second_apply_changes_nothing(salt_call, out):
    apply(salt_call, loopback_pillar(out))
    proc, states = apply(salt_call, loopback_pillar(out))
    assert {k: v["changes"] for k, v in states.items() if v["changes"]} == {}
    assert KEY not in proc.stdout


def test_three_front_ends_have_no_two_node(salt_call, out):
    proc, states = apply(salt_call, loopback_pillar(out, frontends=3,
                                                    pacemaker={"corosync": {"token": 1000}}))
    assert all(s["result"] is True for s in states.values()), states
    conf = out / "corosync" / "corosync.conf"
    text = conf.read_text()
    assert "two_node" not in text
    assert re.search(r"^\s+token: 1000$", text, re.M)
    assert re.findall(r"name: (\S+)\s+nodeid: (\d+)", text) == [
        ("cloud-cc01", "1"), ("cloud-cc02", "2"), ("cloud-cc03", "3")]
    check = corosync_t(conf)
    assert check.returncode == 0, check.stdout + check.stderr


def test_single_ring_pinned_nodeids_and_extra_totem_options(salt_call, out):
    over = {"pacemaker": {"corosync": {"rings": ["san"], "nodeids": {"cloud-cc02": 7},
                                       "options": {"consensus": 4000}}}}
    apply(salt_call, loopback_pillar(out, **over))
    conf = out / "corosync" / "corosync.conf"
    text = conf.read_text()
    assert "ring1_addr" not in text and "consensus: 4000" in text
    assert re.findall(r"name: (\S+)\s+nodeid: (\d+)", text) == [("cloud-cc01", "1"), ("cloud-cc02", "7")]
    check = corosync_t(conf)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_mangled_config_is_what_corosync_t_refuses(salt_call, out):
    """The parser check is real: the same file with one link removed from one node fails."""
    apply(salt_call, loopback_pillar(out))
    conf = out / "corosync" / "corosync.conf"
    bad = out / "bad.conf"
    bad.write_text(conf.read_text().replace("ring1_addr: 127.0.1.2", "")
                   .replace("to_stderr: no", "to_stderr: yes"))
    check = corosync_t(bad)
    assert check.returncode != 0
    assert "Not all nodes have the same number of links" in check.stdout + check.stderr


def test_short_authkey_fails_without_writing_or_printing_it(salt_call, out):
    """A key corosync/knet would refuse fails the render (model validation), before any
    state runs: nothing is written and the key is not printed."""
    short = base64.b64encode(b"x" * 50).decode()
    pillar = loopback_pillar(out)
    pillar["secrets"]["corosync_authkey"] = short
    salt_call.configure(minion_id="cloud-cc01", pillar=pillar)
    proc, data = salt_call.run("state.apply", "pacemaker.config", check=False)
    assert proc.returncode != 0
    assert "the corosync authkey must be base64 of at least 128 bytes" in proc.stdout
    assert short not in proc.stdout and short not in proc.stderr
    assert not (out / "corosync" / "authkey").exists()
    assert not (out / "corosync" / "corosync.conf").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown root needs root")
def test_authkey_mode_is_repaired(salt_call, out):
    apply(salt_call, loopback_pillar(out))
    key = out / "corosync" / "authkey"
    key.chmod(0o644)
    proc, states = apply(salt_call, loopback_pillar(out))
    assert stat.S_IMODE(key.stat().st_mode) == 0o400
    assert states["pacemaker-config-authkey-file"]["changes"] == {"mode": "0400"}
    assert states["pacemaker-config-authkey"]["changes"] == {}
    assert KEY not in proc.stdout
