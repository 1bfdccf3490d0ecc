"""The formula's AoEtarget agent (ocf:opennebula-ha:AoEtarget, the agent of `aoe_data`)
installed by the REAL state storage-drbd_aoe_lvm-aoetarget-agent, then run the way Pacemaker
runs it (OCF environment, real heartbeat agent and ocf-shellfuncs, a fake vblade): while the
DRBD device does not exist a probe answers "not running" where the heartbeat agent answers
"not installed" (which bans the resource from a freshly booted node until a cleanup), a stop
"stopped"; once the device exists every action is the heartbeat agent's."""
import os
import subprocess

import pytest

from conftest import deep_merge, example_pillar, require_tools

HEARTBEAT = "/usr/lib/ocf/resource.d/heartbeat/AoEtarget"
OCF_SUCCESS, OCF_ERR_INSTALLED, OCF_NOT_RUNNING = 0, 5, 7

pytestmark = [require_tools("crm_resource"),
              pytest.mark.skipif(not os.path.exists(HEARTBEAT), reason="needs resource-agents")]


@pytest.fixture
def agent(salt_call, tmp_path):
    lookup = {"aoe_agent_dir": str(tmp_path / "ocf")}
    pillar = deep_merge(example_pillar(), {"storage": {"lookup": {"drbd_aoe_lvm": lookup}}})
    salt_call.configure(minion_id="cloud-cc01", pillar=pillar)
    sid = "storage-drbd_aoe_lvm-aoetarget-agent"
    for run in (1, 2):
        _, data = salt_call.run("state.sls_id", sid, "storage.drbd_aoe_lvm.target")
        ret = {r["__id__"]: r for r in data["local"].values()}
        assert ret[sid]["result"] is True, ret
        assert bool(ret[sid]["changes"]) == (run == 1), ret  # second run: no changes
    path = tmp_path / "ocf" / "opennebula-ha" / "AoEtarget"
    fake = tmp_path / "vblade"
    fake.write_text("#!/bin/sh\nexec sleep 300\n")
    fake.chmod(0o755)
    env = dict(os.environ, OCF_ROOT="/usr/lib/ocf", OCF_RESOURCE_INSTANCE="aoe_data",
               OCF_RESKEY_device=str(tmp_path / "drbd-data"), OCF_RESKEY_nic="lo",
               OCF_RESKEY_shelf="0", OCF_RESKEY_slot="0", OCF_RESKEY_binary=str(fake),
               OCF_RESKEY_pid=str(tmp_path / "aoe_data.pid"), HA_LOGFILE=str(tmp_path / "ha.log"),
               HA_debug="0")
    yield path, tmp_path, env
    pid = tmp_path / "aoe_data.pid"
    if pid.exists():
        subprocess.run([str(path), "stop"], env=env, check=False, timeout=30)


def run(path, action, env, interval=None):
    env = dict(env, OCF_RESKEY_CRM_meta_interval=str(interval or 0))
    # no pipes: the heartbeat agent's start leaves vblade (`binary &`) on our stdout
    return subprocess.run([str(path), action], env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=30).returncode


def alive(pid):
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            return b"State:\tZ" not in f.read()
    except FileNotFoundError:
        return False


def test_agent_metadata_is_the_heartbeat_agents(agent):
    path, _, env = agent
    mine = subprocess.run([str(path), "meta-data"], env=env, capture_output=True, text=True)
    theirs = subprocess.run([HEARTBEAT, "meta-data"], env=env, capture_output=True, text=True)
    assert mine.returncode == 0 and mine.stdout == theirs.stdout
    assert "<resource-agent name=\"AoEtarget\"" in mine.stdout


def test_probe_and_stop_before_drbd_exists(agent):
    """A node that just booted: Pacemaker probes before it started DRBD there."""
    path, _, env = agent
    assert run(HEARTBEAT, "monitor", env) == OCF_ERR_INSTALLED  # the upstream answer
    assert run(path, "monitor", env) == OCF_NOT_RUNNING           # probe
    assert run(path, "monitor", env, interval=40000) == OCF_NOT_RUNNING
    assert run(path, "stop", env) == OCF_SUCCESS
    assert run(path, "start", env) == OCF_ERR_INSTALLED  # start still refuses: no device


def test_with_the_device_every_action_is_the_heartbeat_agents(agent):
    path, tmp, env = agent
    (tmp / "drbd-data").write_bytes(b"\0" * 4096)
    assert run(path, "monitor", env) == OCF_NOT_RUNNING
    assert run(path, "start", env) == OCF_SUCCESS
    pid = int((tmp / "aoe_data.pid").read_text())
    assert run(path, "monitor", env, interval=40000) == OCF_SUCCESS
    # the device vanishes under a running vblade: not hidden, the heartbeat agent answers
    (tmp / "drbd-data").unlink()
    assert run(path, "monitor", env, interval=40000) == OCF_ERR_INSTALLED
    (tmp / "drbd-data").write_bytes(b"\0" * 4096)
    assert run(path, "stop", env) == OCF_SUCCESS
    assert not alive(pid)  # the heartbeat stop waits for vblade to exit
    assert not (tmp / "aoe_data.pid").exists()
    assert run(path, "monitor", env) == OCF_NOT_RUNNING
