"""SBD on the cluster side: the REAL pacemaker.resources SLS applied by `salt-call --local` to
an offline CIB (pacemaker:lookup:cib), with pillar.example's IPMI devices replaced by
pacemaker:stonith:sbd. The generated fence_sbd device goes through the same crm graph as every
other fence device (agent metadata checked: fence_sbd from Debian's fence-agents), then
crm_verify, a second apply with zero changes, watchdog-only (stonith-watchdog-timeout), and
the clean removing it."""
import pytest

from conftest import deep_merge, require_tools
from functional.test_pacemaker_resources import Site, agent, changed, crm_verify, params

pytestmark = [pytest.mark.realtool,
              require_tools("cibadmin", "crm_verify", "crm_resource", "fence_sbd")]

DEV = "/dev/disk/by-id/virtio-sbd0"


def sbd(**conf):
    base = {"enabled": True, "devices": [{"path": DEV}]}
    base.update(conf)
    return {"pacemaker": {"stonith": {"devices": None, "sbd": base}}}


def props(site):
    return {nv.get("name"): nv.get("value")
            for nv in site.conf().find("crm_config").iter("nvpair")}


def test_fence_sbd_device_is_written_verified_and_converges(tmp_path):
    site = Site(tmp_path, sbd())
    states = site.apply()
    assert states["pacemaker-resources-stonith-fence_sbd"]["result"] is True
    stonith = [p for p in site.conf().iter("primitive") if p.get("class") == "stonith"]
    assert [(p.get("id"), agent(p)) for p in stonith] == [("fence_sbd", "stonith:fence_sbd")]
    assert params(stonith[0]) == {"devices": DEV, "pcmk_delay_max": "15s"}
    ops = [(o.get("name"), o.get("interval")) for o in stonith[0].iter("op")]
    assert ops == [("monitor", "60s")]
    p = props(site)
    assert p["stonith-enabled"] == "true" and "stonith-watchdog-timeout" not in p
    # fence_sbd waits msgwait (10 s): stonith-timeout covers it plus the two-node delays
    # (pcmk_delay_max 15 s + priority-fencing-delay 30 s): 12 + 45 = 57 -> Pacemaker's 60 s,
    # + token/consensus (3000 ms x 2.2 -> 7 s)
    assert (p["priority-fencing-delay"], p["stonith-timeout"]) == ("30s", "67s")
    # stonith-enabled only after the device exists
    assert states["pacemaker-resources-stonith-fence_sbd"]["__run_num__"] < \
        states["pacemaker-resources-properties"]["__run_num__"]
    verify = crm_verify(site.cib)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # have-watchdog is read back from a live cluster only (an offline CIB has no DC)
    assert "pacemaker-resources-sbd-have-watchdog" not in states
    assert changed(site.apply()) == {}
    # the read the have-watchdog wait polls, on the CIB the SLS wrote (no DC: no have-watchdog)
    _proc, out = site.salt.run("crm.property_value", "stonith-enabled", f"cib={site.cib}")
    assert out["local"] == "true"
    _proc, out = site.salt.run("crm.property_value", "have-watchdog", f"cib={site.cib}")
    assert out["local"] is None


def test_sbd_devices_change_updates_only_fence_sbd(tmp_path):
    site = Site(tmp_path, sbd())
    site.apply()
    site.set_pillar(sbd(devices=[{"path": DEV}, {"path": "/dev/disk/by-id/virtio-sbd1"}]))
    states = site.apply()
    ch = changed(states)
    ch.pop("pacemaker-resources-push", None)
    ch.pop("pacemaker-resources-stage", None)
    assert list(ch) == ["pacemaker-resources-stonith-fence_sbd"], ch
    fence = next(p for p in site.conf().iter("primitive") if p.get("id") == "fence_sbd")
    assert params(fence)["devices"] == f"{DEV},/dev/disk/by-id/virtio-sbd1"


def test_watchdog_only_sets_stonith_watchdog_timeout(tmp_path):
    three = {"cluster": {"frontends": {"cloud-cc03": {"san": "192.168.100.13",
                                                      "lan": "10.10.11.23"}}},
             "opennebula": {"db": {"replication": "none"}}, "drbd": {"syntax": "9"}}
    site = Site(tmp_path, deep_merge(three, sbd(mode="watchdog", devices=[])))
    site.apply()
    p = props(site)
    assert (p["stonith-enabled"], p["stonith-watchdog-timeout"]) == ("true", "10")
    assert not [x for x in site.conf().iter("primitive") if x.get("class") == "stonith"]
    assert changed(site.apply()) == {}
    states = site.apply("pacemaker.resources.clean")
    assert states["pacemaker-resources-clean-property-stonith-watchdog-timeout"]["changes"]
    p = props(site)
    assert p["stonith-enabled"] == "false" and "stonith-watchdog-timeout" not in p


def test_clean_removes_fence_sbd(tmp_path):
    site = Site(tmp_path, sbd())
    site.apply()
    site.apply("pacemaker.resources.clean")
    assert not [p for p in site.conf().iter("primitive")]
    assert props(site)["stonith-enabled"] == "false"
    assert changed(site.apply("pacemaker.resources.clean")) == {}
