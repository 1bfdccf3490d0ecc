"""The crm states refuse what this node cannot run: real ``crm_resource --show-metadata``
(resource-agents, drbd-utils, fence-agents, pacemaker-fenced metadata) and real ``systemctl
list-unit-files`` (this host's unit directories + test/fixtures/systemd-units, see
``formula_unit_files`` in test/conftest.py), through the real state functions and the real
pacemaker.resources SLS.

Also counts the metadata calls a whole lab-sized graph costs (PATH shims): one per agent.
"""
import os
import pathlib
import subprocess

import pytest
from conftest import deep_merge, require_tools
from functional.test_crm_graph import SaltCrm, conf
from functional.test_pacemaker_resources import NO_FENCING, PUSH, Site

pytestmark = [pytest.mark.realtool,
              require_tools("cibadmin", "crm_verify", "crm_resource", "systemctl")]


@pytest.fixture(scope="module")
def salt_crm(tmp_path_factory):
    return SaltCrm(tmp_path_factory.mktemp("salt"))


@pytest.fixture
def crm(salt_crm):
    salt_crm.context.clear()
    salt_crm.opts["test"] = False
    return salt_crm


@pytest.fixture
def cib(tmp_path):
    path = tmp_path / "cib.xml"
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                   check=True).stdout)
    return path


@pytest.mark.parametrize("test_mode", [False, True])
def test_typo_missing_required_and_missing_agent_are_refused(crm, cib, test_mode):
    before = cib.read_bytes()
    crm.opts["test"] = test_mode
    ret = crm.state("crm.resource_present", name="lan_ip", agent="ocf:heartbeat:IPaddr2",
                    params={"ip": "10.0.0.1", "cidr_netmaks": "24"}, cib=str(cib))
    assert ret["result"] is False
    assert ret["comment"].startswith(
        "resource lan_ip: agent ocf:heartbeat:IPaddr2: parameter(s) not declared by the "
        "agent: cidr_netmaks; allowed: ")
    assert " cidr_netmask," in ret["comment"]
    ret = crm.state("crm.resource_present", name="fs", agent="ocf:heartbeat:Filesystem",
                    params={"device": "/dev/x"}, cib=str(cib))
    assert ret["comment"] == ("resource fs: agent ocf:heartbeat:Filesystem: required "
                              "parameter(s) missing: directory, fstype")
    ret = crm.state("crm.resource_present", name="x", agent="ocf:heartbeat:NoSuchAgent",
                    cib=str(cib))
    assert ret["comment"] == ("resource x: agent ocf:heartbeat:NoSuchAgent not available on "
                              "this node (crm_resource --show-metadata: No such device or "
                              "address)")
    ret = crm.state("crm.stonith_present", name="f", agent="fence_no_such_agent",
                    cib=str(cib))
    assert ret["result"] is False and "agent stonith:fence_no_such_agent not available" in \
        ret["comment"]
    assert cib.read_bytes() == before


def test_systemd_units_by_their_unit_files(crm, cib):
    ret = crm.state("crm.resource_present", name="ghost", agent="systemd:no-such-unit-here",
                    cib=str(cib))
    assert ret["comment"] == ("resource ghost: agent systemd:no-such-unit-here: no unit file "
                              "no-such-unit-here.service on this node (package not "
                              "installed?)")
    # a unit of this host (getty@.service from systemd itself) and a stand-in for a package
    # this host lacks (test/fixtures/systemd-units)
    for rid, agent in (("getty", "systemd:getty@tty9"), ("OpenNebula", "systemd:opennebula")):
        ret = crm.state("crm.resource_present", name=rid, agent=agent, cib=str(cib))
        assert ret["result"] is True, ret
    ret = crm.state("crm.resource_present", name="OpenNebula", agent="systemd:opennebula",
                    params={"config": "/etc/one/oned.conf"}, cib=str(cib))
    assert "parameter(s) not declared by the agent: config; allowed: none" in ret["comment"]


def test_fencer_params_are_the_real_fenceds(crm, cib):
    params = {"ip": "10.0.0.9", "username": "admin", "password": "s3cr3t",
              "pcmk_host_list": "n1", "pcmk_delay_max": "15s"}
    ret = crm.state("crm.stonith_present", name="f1", agent="fence_ipmilan", params=params,
                    cib=str(cib))
    assert ret["result"] is True, ret
    ret = crm.state("crm.stonith_present", name="f2", agent="fence_ipmilan",
                    params=dict(params, pcmk_delay_mx="15s"), cib=str(cib))
    assert ret["result"] is False
    assert "not declared by the agent: pcmk_delay_mx; allowed: " in ret["comment"]
    assert " pcmk_delay_max," in ret["comment"] and "s3cr3t" not in repr(ret)
    assert conf(cib).find("resources/primitive[@id='f2']") is None


def _shims(root):
    """crm_resource/systemctl/pacemaker-fenced wrappers that log each spawn."""
    d = pathlib.Path(root) / "shims"
    d.mkdir()
    log = pathlib.Path(root) / "spawns.log"
    for tool in ("crm_resource", "systemctl"):
        real = subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True,
                              text=True, check=True).stdout.strip()
        (d / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> "{log}"\nexec {real} "$@"\n')
        (d / tool).chmod(0o755)
    return d, log


def test_lab_graph_is_accepted_and_costs_one_metadata_call_per_agent(tmp_path, monkeypatch):
    """pillar.example's graph (drbd_aoe_lvm, 2 IPMI fence devices, OpenNebula + lighttpd on
    the formula's SystemdUnit agent): nothing refused on a node with the packages;
    crm_resource once per distinct agent and no systemd unit lookup, for the whole highstate
    (the staged path)."""
    shims, log = _shims(tmp_path)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")
    site = Site(tmp_path / "site")
    states = site.apply()
    prims = [k for k in states if k.startswith(("pacemaker-resources-primitive-",
                                                "pacemaker-resources-stonith-"))]
    assert len(prims) == 12
    calls = log.read_text().splitlines()
    meta = sorted(c for c in calls if c.startswith("crm_resource "))
    units = [c for c in calls if c.startswith("systemctl list-unit-files")]
    assert meta == sorted(f"crm_resource --show-metadata {a}" for a in (
        "stonith:fence_ipmilan", "ocf:heartbeat:IPaddr2", "ocf:linbit:drbd",
        "ocf:heartbeat:Filesystem", "ocf:heartbeat:nfsserver", "ocf:heartbeat:exportfs",
        "ocf:opennebula-ha:AoEtarget", "ocf:opennebula-ha:SystemdUnit"))
    assert units == []
    print(f"\nlab graph: {len(prims)} primitives, {len(meta)} crm_resource + "
          f"{len(units)} systemctl calls (+1 pacemaker-fenced metadata)")


def test_sls_refusal_shows_under_test_true_and_nothing_is_written(tmp_path):
    bad = {"pacemaker": {"extra_resources": {"ping_gw": {
        "type": "resource_present", "agent": "ocf:pacemaker:ping",
        "params": {"host_lst": "10.10.11.1"}}}}}
    site = Site(tmp_path, NO_FENCING)
    site.apply()
    site.set_pillar(deep_merge(NO_FENCING, bad))
    before = site.cib.read_bytes()
    for test in ("test=True", "test=False"):
        proc, data = site.salt.run("state.apply", "pacemaker.resources", test, check=False)
        states = {v["__id__"]: v for v in data["local"].values()}
        ping = states["pacemaker-resources-extra-ping_gw"]
        assert ping["result"] is False, ping
        assert ping["comment"].startswith(
            "resource ping_gw: agent ocf:pacemaker:ping: parameter(s) not declared by the "
            "agent: host_lst; allowed: ")
        assert " host_list," in ping["comment"]
        if test == "test=False":
            assert states[PUSH]["result"] is False
        assert site.cib.read_bytes() == before
    # the escape hatch for an offline CIB built elsewhere
    site.set_pillar(deep_merge(deep_merge(NO_FENCING, {"pacemaker": {"extra_resources": {
        "ping_gw": {"type": "resource_present", "agent": "ocf:pacemaker:ping",
                    "params": {"host_list": "10.10.11.1"}}}}}),
        {"pacemaker": {"services": ["opennebula", "nginx-not-here"],
                       "lookup": {"check_agents": False, "service_resources": {
                           "nginx-not-here": {"id": "ghost", "unit": "no-such-unit"}}}}}))
    states = site.apply()
    assert states["pacemaker-resources-primitive-ghost"]["result"] is True
