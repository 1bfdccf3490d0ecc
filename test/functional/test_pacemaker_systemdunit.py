"""The formula's service agent (ocf:opennebula-ha:SystemdUnit, the agent of OpenNebula, the
proxy and the LINSTOR controller in ha_group) installed by the REAL state
pacemaker-agents-systemdunit, then run the way Pacemaker runs it (OCF environment, the real
ocf-shellfuncs) against a recording `systemctl` double: start and stop are one synchronous
`systemctl start`/`stop` each, never a `daemon-reload`; monitor maps systemd's states to
OCF's; a unit systemd does not know is refused at start and "not running" at a probe. Its
metadata passes Pacemaker's own parser (`crm_resource --show-metadata` reads the installed
agent: test/functional/conftest.py installs it into the OCF tree)."""
import os
import subprocess

import pytest

from conftest import deep_merge, example_pillar, require_tools

SHELLFUNCS = "/usr/lib/ocf/lib/heartbeat/ocf-shellfuncs"
OCF_SUCCESS, OCF_ERR_GENERIC, OCF_ERR_CONFIGURED, OCF_ERR_INSTALLED, OCF_NOT_RUNNING = 0, 1, 6, 5, 7

pytestmark = pytest.mark.skipif(not os.path.exists(SHELLFUNCS), reason="needs resource-agents")

# systemctl double: one state file per unit, every call appended to calls.log
SYSTEMCTL = r"""#!/bin/sh
d="$FAKE_SYSTEMD"
echo "$*" >> "$d/calls.log"
cmd="$1"; shift
[ "$1" = "--property=LoadState" ] && shift 2
[ "$1" = "--" ] && shift
u="$1"
st() { cat "$d/$u.state" 2>/dev/null || echo inactive; }
case "$cmd" in
is-active) s=$(st); echo "$s"; [ "$s" = active ] ;;
show) [ -e "$d/$u.loaded" ] && echo loaded || echo not-found ;;
start) if [ -e "$d/$u.fail" ]; then echo failed > "$d/$u.state"; exit 1; fi
       echo active > "$d/$u.state" ;;
stop) [ -e "$d/$u.stuck" ] && exit 1; [ "$(st)" = failed ] || echo inactive > "$d/$u.state" ;;
reset-failed) [ "$(st)" = failed ] && echo inactive > "$d/$u.state"; exit 0 ;;
*) exit 1 ;;
esac
"""


@pytest.fixture
def agent(salt_call, tmp_path):
    pillar = deep_merge(example_pillar(), {"pacemaker": {"lookup": {
        "agent_dir": str(tmp_path / "ocf"), "unit_dropin_dir": str(tmp_path / "system")}}})
    salt_call.configure(minion_id="cloud-cc01", pillar=pillar)
    for run_no in (1, 2):
        _, data = salt_call.run("state.sls", "pacemaker.agents")
        ret = {r["__id__"]: r for r in data["local"].values()}
        assert all(r["result"] is True for r in ret.values()), ret
        changed = sorted(sid for sid, r in ret.items() if r["changes"])
        if run_no == 1:
            assert changed == ["pacemaker-agents-daemon-reload",
                               "pacemaker-agents-dropin-lighttpd.service",
                               "pacemaker-agents-dropin-opennebula.service",
                               "pacemaker-agents-systemdunit"], changed
        else:
            assert changed == [], changed  # second run: no changes, no reload
    dropin = (tmp_path / "system" / "opennebula.service.d" / "50-opennebula-ha.conf").read_text()
    assert "Before=pacemaker.service pacemaker_remote.service" in dropin
    assert "Restart=no" in dropin
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "systemctl").write_text(SYSTEMCTL)
    (fake / "systemctl").chmod(0o755)
    state = tmp_path / "systemd"
    state.mkdir()
    env = dict(os.environ, OCF_ROOT="/usr/lib/ocf", OCF_RESOURCE_INSTANCE="OpenNebula",
               OCF_RESKEY_unit="opennebula", PATH=f"{fake}:{os.environ['PATH']}",
               FAKE_SYSTEMD=str(state), HA_LOGFILE=str(tmp_path / "ha.log"), HA_debug="0")
    yield tmp_path / "ocf" / "opennebula-ha" / "SystemdUnit", state, env


def run(path, action, env, **extra):
    return subprocess.run([str(path), action], env=dict(env, **extra), capture_output=True,
                          text=True, timeout=30).returncode


def calls(state):
    log = state / "calls.log"
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def test_start_stop_are_one_synchronous_call_each_and_never_reload(agent):
    path, state, env = agent
    (state / "opennebula.loaded").touch()
    assert run(path, "monitor", env) == OCF_NOT_RUNNING  # probe
    calls(state)
    assert run(path, "start", env) == OCF_SUCCESS
    log = calls(state)
    assert "start -- opennebula" in log and log.count("start -- opennebula") == 1
    assert not [c for c in log if "daemon-reload" in c]
    assert run(path, "monitor", env, OCF_RESKEY_CRM_meta_interval="30000") == OCF_SUCCESS
    assert run(path, "start", env) == OCF_SUCCESS          # already running: no second start
    assert "start -- opennebula" not in calls(state)
    assert run(path, "stop", env) == OCF_SUCCESS
    assert "stop -- opennebula" in calls(state)
    assert run(path, "monitor", env) == OCF_NOT_RUNNING
    assert run(path, "stop", env) == OCF_SUCCESS           # stopping a stopped unit


def test_systemd_states_map_to_ocf(agent):
    path, state, env = agent
    for unit_state, rc in [("active", OCF_SUCCESS), ("reloading", OCF_SUCCESS),
                           ("inactive", OCF_NOT_RUNNING), ("failed", OCF_NOT_RUNNING),
                           ("activating", OCF_ERR_GENERIC), ("deactivating", OCF_ERR_GENERIC)]:
        (state / "opennebula.state").write_text(unit_state + "\n")
        assert run(path, "monitor", env) == rc, unit_state


def test_failures_are_reported_not_hidden(agent):
    path, state, env = agent
    # systemd does not know the unit: start refuses (5), a probe says not running (7)
    assert run(path, "start", env) == OCF_ERR_INSTALLED
    assert run(path, "monitor", env) == OCF_NOT_RUNNING
    assert run(path, "start", env, OCF_RESKEY_unit="") == OCF_ERR_CONFIGURED
    (state / "opennebula.loaded").touch()
    (state / "opennebula.fail").touch()
    assert run(path, "start", env) == OCF_ERR_GENERIC       # the unit failed to start
    (state / "opennebula.fail").unlink()
    assert run(path, "stop", env) == OCF_SUCCESS            # a failed unit is stopped...
    assert (state / "opennebula.state").read_text().strip() == "inactive"  # ...and reset
    (state / "opennebula.state").write_text("active\n")
    (state / "opennebula.stuck").touch()
    assert run(path, "stop", env) == OCF_ERR_GENERIC        # still active after the stop


@require_tools("crm_resource")
def test_metadata_parsed_by_pacemaker(agent):
    path, _, env = agent
    out = subprocess.run([str(path), "meta-data"], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and '<parameter name="unit" unique="1" required="1">' in out.stdout
    installed = "/usr/lib/ocf/resource.d/opennebula-ha/SystemdUnit"
    if not os.path.exists(installed):
        pytest.skip("the agent is installed into the OCF tree by the session fixture (root)")
    meta = subprocess.run(["crm_resource", "--show-metadata", "ocf:opennebula-ha:SystemdUnit"],
                          capture_output=True, text=True, timeout=30)
    assert meta.returncode == 0, meta.stderr
    assert 'name="unit"' in meta.stdout and 'name="start"' in meta.stdout
