"""Fixtures shared by the functional tests."""
import os
import pathlib

import pytest

from conftest import SaltCall, example_pillar

OCF_DIR = pathlib.Path("/usr/lib/ocf/resource.d")
# the formula's own agents: (state id, SLS, file under OCF_DIR), each installed by its state
AGENTS = [("storage-drbd_aoe_lvm-aoetarget-agent", "storage.drbd_aoe_lvm.target",
           "opennebula-ha/AoEtarget"),
          ("pacemaker-agents-systemdunit", "pacemaker.agents", "opennebula-ha/SystemdUnit")]


@pytest.fixture(scope="session", autouse=True)
def formula_agents(tmp_path_factory):
    """The graphs run resources on the formula's own agents: `aoe_data` on
    ocf:opennebula-ha:AoEtarget (storage.drbd_aoe_lvm.target installs it), the service slots
    on ocf:opennebula-ha:SystemdUnit (pacemaker.agents); the crm states check every agent
    with the real `crm_resource --show-metadata`, which reads only the compiled-in OCF
    directory. Installed here by the REAL states (salt-call state.sls_id) when this host has
    Pacemaker's OCF tree and we are root, removed at the end if they were not there before;
    elsewhere the graph tests report the agents as not installed."""
    if not (OCF_DIR / "heartbeat" / "AoEtarget").exists() or os.geteuid() != 0:
        yield None
        return
    fresh = [OCF_DIR / rel for _, _, rel in AGENTS if not (OCF_DIR / rel).exists()]
    salt = SaltCall(tmp_path_factory.mktemp("formula-agents") / "salt")
    salt.configure(minion_id="cloud-cc01", pillar=example_pillar())
    for sid, sls, _ in AGENTS:
        _, data = salt.run("state.sls_id", sid, sls)
        ret = {r["__id__"]: r for r in data["local"].values()}
        assert ret[sid]["result"] is True, ret
    yield [OCF_DIR / rel for _, _, rel in AGENTS]
    for agent in fresh:
        agent.unlink(missing_ok=True)
        try:
            agent.parent.rmdir()
        except OSError:
            pass
