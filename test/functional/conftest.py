"""Fixtures shared by the functional tests."""
import os
import pathlib

import pytest

from conftest import SaltCall, example_pillar

OCF_DIR = pathlib.Path("/usr/lib/ocf/resource.d")
AGENT_SID = "storage-drbd_aoe_lvm-aoetarget-agent"


@pytest.fixture(scope="session", autouse=True)
def formula_aoetarget_agent(tmp_path_factory):
    """The drbd_aoe_lvm graph runs `aoe_data` on the formula's AoEtarget agent
    (ocf:opennebula-ha:AoEtarget), which storage.drbd_aoe_lvm.target installs; the crm states
    check every agent with the real `crm_resource --show-metadata`, which reads only the
    compiled-in OCF directory. Installed here by the REAL state (salt-call state.sls_id) when
    this host has Pacemaker's OCF tree and we are root, removed at the end if it was not
    there before; elsewhere the graph tests report the agent as not installed."""
    agent = OCF_DIR / "opennebula-ha" / "AoEtarget"
    if not (OCF_DIR / "heartbeat" / "AoEtarget").exists() or os.geteuid() != 0:
        yield None
        return
    existed = agent.exists()
    salt = SaltCall(tmp_path_factory.mktemp("aoetarget-agent") / "salt")
    salt.configure(minion_id="cloud-cc01", pillar=example_pillar())
    _, data = salt.run("state.sls_id", AGENT_SID, "storage.drbd_aoe_lvm.target")
    ret = {r["__id__"]: r for r in data["local"].values()}
    assert ret[AGENT_SID]["result"] is True, ret
    yield agent
    if not existed:
        agent.unlink(missing_ok=True)
        try:
            agent.parent.rmdir()
        except OSError:
            pass
