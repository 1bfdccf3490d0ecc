"""Scale: an unchanged re-apply reads each external subsystem O(1) times, not O(N).

The front-end states of the three subsystems (pacemaker.resources, storage.linstor.objects,
opennebula.register) for 2 front-ends + 200 hypervisors (bench/gen_pillar.py, variant
linstor), APPLIED twice by the real `salt-call --local state.apply` (bench/converge.py's
harness): an offline CIB with the real cibadmin/crm_verify, LinstorRestDouble and OnedDouble
on loopback ports, process spawns counted by PATH shims, API calls by the doubles' records.
The second apply is a new run (nothing cached) and must read each subsystem a bounded number
of times whatever N is: one CIB query, one LINSTOR list per kind, one oned pool per kind, one
`ip` for the 202 VIP-guarded register states; and write nothing.
"""
import hashlib
import importlib.util
import pathlib
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import require_tools

REPO = pathlib.Path(__file__).resolve().parents[2]
N = 200

# ip/ss: the register guard and opennebula-register-wait-for-active's check
pytestmark = [pytest.mark.realtool, pytest.mark.slow,
              require_tools("cibadmin", "crm_verify", "ip", "ss")]


def _converge():
    name = "onehabench_converge"
    if name not in sys.modules:
        sys.path.insert(0, str(REPO / "bench"))
        spec = importlib.util.spec_from_file_location(name, REPO / "bench" / "converge.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def _sha(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _epoch(cib):
    return int(ET.parse(cib).getroot().get("epoch"))


def test_reapply_reads_each_subsystem_once_at_2_plus_200(tmp_path):
    cv = _converge()
    with cv.Converge(N, tmp_path) as c:
        epoch = _epoch(c.cib)
        first = c.run_pass()
        assert first["failed"] == {}
        # Pacemaker: the graph states patch the staged copy; the CIB gets ONE cibadmin --patch
        assert _epoch(c.cib) == epoch + 1
        push = first["states"]["pacemaker-resources-push"]
        assert "one cibadmin --patch" in push["comment"] and push["changes"]["patch"], push
        reg = [k for k in first["states"] if k.startswith("opennebula-register-")]
        assert sum(k.startswith("opennebula-register-host-") for k in reg) == N
        assert sum(k.startswith("opennebula-register-datastore-") for k in reg) == 2
        assert first["states_by_subsystem"]["linstor"] == 3 * (N + 2) + 1  # nodes, pools, rg
        assert len(c.linstor.nodes) == N + 2
        assert sum(len(p) - 1 for p in c.linstor.pools.values()) == 2 * (N + 2)  # - diskless
        assert len(c.oned.hosts) == N
        cib_before = _sha(c.cib)

        second = c.run_pass()
        assert second["failed"] == {}
        assert {k: s["changes"] for k, s in second["states"].items() if s["changes"]} == {}
        crm_states = sum(1 for k in second["states"] if k.startswith("pacemaker-resources-"))
        spawns, linstor, oned = second["spawns"], second["linstor"], second["oned"]
        report = f"spawns {dict(spawns)}, LINSTOR {linstor}, oned {oned}"

        # Pacemaker: the CIB read once by crm.cib_staged, the staged copy once for every graph
        # state, one crm_diff by crm.cib_pushed (nothing to patch); no write
        assert spawns["cibadmin"] == 2 < crm_states, report
        assert spawns["crm_diff"] == 1, report
        assert spawns["crm_verify"] == 0 and spawns["crm"] == 0, report
        assert _sha(c.cib) == cib_before
        # LINSTOR: one list per kind serves 202 node states and 404 pool states; no write
        assert linstor.get("GET /v1/nodes", 0) <= 2, report
        assert linstor.get("GET /v1/view/storage-pools", 0) <= 2, report
        assert linstor.get("GET /v1/resource-groups", 0) <= 2, report
        assert not any(k.startswith("GET /v1/nodes/") for k in linstor), report
        assert second["linstor_writes"] == 0, report
        assert sum(linstor.values()) <= 10, report
        # oned: one pool call per kind for 200 hosts + 2 datastores; no write
        assert oned.get("one.hostpool.info") == 1, report
        assert oned.get("one.datastorepool.info") == 1, report
        assert oned.get("one.clusterpool.info", 0) <= 1, report
        assert not any(m.endswith(".info") and "pool" not in m for m in oned), report
        assert second["oned_writes"] == 0, report
        # the 202 register states' VIP guard: one `ip` per run (+ Salt's own grains calls)
        assert spawns["ip"] < 20, report


def test_register_on_passive_frontend_reads_nothing(tmp_path):
    """Same states where the VIP is NOT configured: every register state succeeds with
    nothing to do and oned is never called."""
    cv = _converge()
    with cv.Converge(3, tmp_path) as c:
        c.pillar["cluster"]["vips"]["san"] = "127.0.0.2"  # in 127.0.0.0/8, not on lo here
        # the other front-end holds the VIP: it answers ping (opennebula-register-wait-for-
        # active's passive check), without needing iputils-ping on the test host
        ping = c.shims.dir / "ping"
        ping.write_text("#!/bin/sh\nexit 0\n")
        ping.chmod(0o755)
        cv.minion_config(c.root / "salt", minion_id="cloud-cc01", pillar=c.pillar)
        wall, states = cv.salt_call_apply(c.root / "salt" / "conf", c.env,
                                          sls="opennebula.register")
        reg = {k: s for k, s in states.items()
               if k.startswith(("opennebula-register-host-", "opennebula-register-datastore-"))}
        assert len(reg) == 3 + 2
        for sid, ret in reg.items():
            assert ret["result"] is True and ret["changes"] == {}, (sid, ret)
            assert "not the active front-end" in ret["comment"], (sid, ret)
        assert c.oned.counts() == {}
        assert c.shims.counts()["ip"] < 20
