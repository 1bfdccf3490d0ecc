"""No pillar value reaches a shell: the render matrix (test_render_matrix) rendered by a real
`salt-call --local state.show_lowstate` (a covering set of it: every storage variant and every
HA stack for the front-end, every variant for the hypervisor and the storage server that
serves it; the full cross product costs ~10 min here for no extra state) with a pillar whose
strings carry the canary
``zqcanary`` (legal values: host names, DB/user names, VG, mount paths, cluster name, bond,
domain, lookup overrides), and every rendered state walked for shell strings:

  * ``cmd.*`` states whose ``name`` is a string (Salt's cmd.run state always runs it with
    python_shell=True);
  * string ``unless``/``onlyif`` entries (Salt runs them through ``cmd.retcode`` with
    python_shell=True);
  * function requisites / ``module.run`` calls of ``cmd.shell``/``cmd.script`` or any
    ``cmd.*`` with ``python_shell: true``.

Any canary in one of those is a pillar value interpolated into a shell string.

The same lowstates are walked for guards Salt would evaluate itself: a state with
``unless``/``onlyif``/``creates`` whose module has no ``mod_run_check`` makes Salt's loader
look that function up, and the failed lookup imports every state module on the host (1-6 s
per run, whatever the guard). Every guarded state of the formula is one whose module
evaluates its guards itself (``argv.run``, the formula's states: ``ohaf_state.guards``), or
runs only on ``onchanges`` (a run with nothing changed never reaches its guards).
"""
import importlib
import json

import pytest

from conftest import REPO
from render.test_render_matrix import COMBOS, ROLE_MINION, VARIANTS, STACKS, matrix_pillar

CANARY = "zqcanary"

# host names: every occurrence (keys and values) of these JSON strings is renamed
RENAME = {"cloud-cc02": "zqcanary-cc02", "cloud-02": "zqcanary-02"}
ROLE_MINION_CANARY = {role: RENAME.get(m, m) for role, m in ROLE_MINION.items()}
ROLE_MINION_CANARY["frontend"] = "cloud-cc01"  # first front-end: raft server-add, DB, goal


def canary_pillar(variant, stack):
    p = matrix_pillar(variant, stack)
    text = json.dumps(p)
    for old, new in RENAME.items():
        text = text.replace(json.dumps(old), json.dumps(new))
    p = json.loads(text)
    c = p["cluster"]
    c["name"] = "zqcanary-ha"
    c["vip_name"] = "zqcanary-cc"
    c["bonds"] = {
        "cloud-cc01": {"zqcanary0": {"mode": "balance-rr", "slaves": ["eth8", "eth9"],
                                     "network": "san"}},
        "cloud-01": {"zqcanary0": {"mode": "balance-rr", "slaves": ["eth8", "eth9"],
                                   "network": "san"}},
    }
    one = p["opennebula"]
    one["db"].update({"name": "zqcanary_db", "user": "zqcanary_user",
                      "replication_user": "zqcanary_repl"})
    one["lookup"] = {"db": {"client": "/usr/bin/zqcanary-mysql",
                            "socket": "/run/zqcanary/mysqld.sock"}}
    st = p["storage"]
    st["datastores_path"] = "/var/lib/zqcanary/datastores"
    st["nfs"]["idmapd_domain"] = "zqcanary.local"
    st["drbd_aoe_lvm"].update({"vg": "zqcanary-vg", "one_mount": "/srv/zqcanary/one"})
    st["lookup"] = {"nfs": {"idmapd_conf": "/etc/zqcanary/idmapd.conf"},
                    "drbd_aoe_lvm": {"update_initramfs": "update-initramfs -u -k zqcanary"}}
    p.setdefault("pacemaker", {})["lookup"] = {"corosync_service": "zqcanary-corosync"}
    return p


_SHELL_FUNS = {"cmd.shell", "cmd.script", "cmd.script_retcode", "cmd.exec_code",
               "cmd.exec_code_all", "cmd.powershell"}


def _shell_call(fun, kwargs):
    """A function requisite/module.run call that goes through a shell."""
    if not str(fun).startswith("cmd."):
        return False
    return fun in _SHELL_FUNS or kwargs.get("python_shell") is True


def shell_strings(chunk):
    """(where, text) of every shell string a lowstate chunk would run."""
    found = []
    sid = chunk.get("__id__")
    if chunk.get("state") == "cmd" and isinstance(chunk.get("name"), str):
        found.append((f"{sid}: cmd.{chunk.get('fun')} name", chunk["name"]))
    for req in ("unless", "onlyif"):
        entries = chunk.get(req)
        if entries is None:
            continue
        for entry in entries if isinstance(entries, list) else [entries]:
            if isinstance(entry, str):
                found.append((f"{sid}: {req}", entry))
            elif isinstance(entry, dict) and _shell_call(entry.get("fun"), entry):
                found.append((f"{sid}: {req} {entry.get('fun')}", json.dumps(entry)))
    if chunk.get("state") == "module":
        for key, value in chunk.items():
            if "." in key and not key.startswith("__"):
                kwargs = {}
                for item in value or []:
                    if isinstance(item, dict):
                        kwargs.update(item)
                if _shell_call(key, kwargs):
                    found.append((f"{sid}: module.run {key}", json.dumps(value)))
    return found


def _runs_own_guards(state):
    path = REPO / "_states" / f"{state}.py"
    if path.exists():
        return "\ndef mod_run_check(" in path.read_text()
    try:
        return hasattr(importlib.import_module(f"salt.states.{state}"), "mod_run_check")
    except ImportError:
        return False


def costly_guards(lowstate):
    """ids of the chunks whose guards Salt's state compiler would evaluate (see above)."""
    return sorted(f"{c['__id__']} ({c['state']}.{c['fun']})" for c in lowstate
                  if {"unless", "onlyif", "creates"} & set(c) and "onchanges" not in c
                  and not _runs_own_guards(c["state"]))


def leaks(lowstate):
    return [(where, text) for chunk in lowstate for where, text in shell_strings(chunk)
            if CANARY in text]


COVER = sorted(
    {(v, "pacemaker", "frontend") for v in VARIANTS}
    | {("nfs", s, "frontend") for s in STACKS}
    | {(v, "pacemaker", "hypervisor") for v in VARIANTS}
    | {(v, "pacemaker", "storage_server") for v in ["nfs", "moosefs", "linstor"]})
assert set(COVER) <= set(COMBOS)


@pytest.mark.render
@pytest.mark.parametrize("variant,stack,role", COVER, ids=["-".join(c) for c in COVER])
def test_no_pillar_value_in_a_shell_string(salt_call, variant, stack, role):
    grains = {"os_family": "RedHat", "os": "CentOS"} if stack == "rgmanager" else None
    salt_call.configure(minion_id=ROLE_MINION_CANARY[role], pillar=canary_pillar(variant, stack),
                        grains=grains)
    proc, data = salt_call.run("state.show_lowstate", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    low = data["local"]
    assert isinstance(low, list) and low, data
    # the canaries did reach the rendered states (else this test proves nothing)
    assert CANARY in json.dumps(low)
    assert leaks(low) == []
    assert costly_guards(low) == []


def test_the_walker_finds_every_kind_of_shell_string():
    low = [
        {"__id__": "a", "state": "cmd", "fun": "run", "name": "mount /zqcanary"},
        {"__id__": "b", "state": "file", "fun": "directory", "name": "/zqcanary",
         "unless": "mountpoint -q /zqcanary"},
        {"__id__": "c", "state": "argv", "fun": "run", "name": "c",
         "onlyif": [{"fun": "cmd.shell", "args": ["test -d /zqcanary"]}]},
        {"__id__": "d", "state": "module", "fun": "run", "name": "d",
         "cmd.run_all": [{"cmd": "ls /zqcanary"}, {"python_shell": True}]},
        # safe: argument lists and function guards
        {"__id__": "e", "state": "argv", "fun": "run", "name": "e", "argv": ["ls", "/zqcanary"],
         "unless": [{"fun": "mount.is_mounted", "name": "/zqcanary"}]},
        {"__id__": "f", "state": "cmd", "fun": "run", "name": "exportfs -ra"},
    ]
    assert [w.split(":")[0] for w, _ in leaks(low)] == ["a", "b", "c", "d"]
    # b: file.directory has no mod_run_check; c, e: argv.run evaluates its own guards
    assert costly_guards(low) == ["b (file.directory)"]
    assert costly_guards([{"__id__": "g", "state": "test", "fun": "show_notification",
                           "onlyif": [{"fun": "m.f"}], "onchanges": ["x"]},
                          {"__id__": "h", "state": "argv", "fun": "run", "creates": "/x"}]) == []
