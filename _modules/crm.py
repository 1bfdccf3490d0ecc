"""
Pacemaker CIB management with ``cibadmin``/``crm_verify``/``crm_diff`` (no crmsh parsing).

Every function takes an optional ``cib`` argument: the path of a CIB XML file to work on
offline (tools run with ``CIB_file=<path>``). Without it the live cluster is used.

Design
------
* One read: ``cibadmin --query``, kept in the run cache per CIB, dropped by every write.
* Desired objects are plain data, normalised, diffed and edited by the pure CIB library
  ``_utils/ohaf_cib*.py`` (crmsh 4.4 cannot parse some agents' metadata and drops unknown
  group members: it never builds configuration; ``show`` uses it for display).
* ONE write path, the ha_cluster role's: the change is made to a copy of the CIB (in memory
  for a single state, ``<dir>/staged.xml`` for a staged graph), then ``crm_diff`` of the
  two, ``crm_verify`` of the copy (errors the CIB already had do not block), ONE ``cibadmin
  --patch``, and a re-read checking every element the patch touched. Elements changed
  meanwhile by Pacemaker or an operator are left alone; nothing differs, nothing is written.
* Resource agents are checked on this node before anything is read (``check_resource_agent``).
* Secrets (``*passw*``, ``*secret*``, ``*key*``, the formula's secret names, ``hidden_params``)
  are reported as ``<hidden>`` and scrubbed from error text.
"""
import os
import re
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET

import salt.utils.path
from salt.exceptions import CommandExecutionError

__virtualname__ = "crm"

DEFAULT_TIMEOUT = 30
NS = "crm"  # the run cache of CIB reads and patches: dropped by every write
AGENT_NS = "crm.agents"  # what this node's agents take: no CIB write changes it
# pacemaker-fenced's own metadata (the fencer's device parameters, pcmk_host_list...)
FENCED_PATHS = ("/usr/lib/pacemaker/pacemaker-fenced", "/usr/libexec/pacemaker/pacemaker-fenced")
STAGE_ORIG = "orig.xml"
STAGE_NEW = "staged.xml"


def __virtual__():
    if salt.utils.path.which("cibadmin"):
        return __virtualname__
    return (False, "crm: cibadmin (pacemaker-cli-utils) is not on PATH")


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def _cached(ns, key, load, refresh=False):
    """``load()`` once per run in the run cache (namespace ``ns``)."""
    return _u("ohaf_cache.get")(__context__, ns, key, load, refresh=refresh)


# --- running tools, the run cache --------------------------------------------------------
def _env(cib):
    return {"CIB_file": os.path.abspath(cib)} if cib else None


def _run(argv, cib=None, timeout=DEFAULT_TIMEOUT, secrets=()):
    """One command (argument list); output never logged (the CIB holds fence passwords)."""
    res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"], argv, env=_env(cib), timeout=timeout,
                             secrets=secrets, check=False, output_loglevel="quiet")
    out = res.get("stdout") or ""
    if res.get("retcode") and re.search(r"Timed out after [\d.]+ seconds\s*$", str(out)):
        where = f"CIB file {cib}" if cib else "the live cluster"
        raise CommandExecutionError(
            f"{argv[0]} did not answer within {timeout}s on {where}: cluster not running "
            "or not responding")
    res["stdout"] = out
    res["stderr"] = _u("ohaf_secret.scrub")(res.get("stderr") or "", secrets)
    return res


def _cluster_down(res, cib, what):
    return CommandExecutionError(_u("ohaf_cib_patch.tool_error")(res, cib, what))


def _check_file(cib):
    if cib and not os.path.isfile(cib):
        raise CommandExecutionError(
            f"CIB file {cib} does not exist (create it with cibadmin --empty)")


def _key(cib):
    return f"cib:{os.path.abspath(cib) if cib else 'live'}"


def _invalidate():
    _u("ohaf_cache.invalidate")(__context__, NS)


def _read(cib=None, timeout=DEFAULT_TIMEOUT, refresh=False):
    """The CIB as an ElementTree root; one ``cibadmin --query`` per run (cached)."""
    def load():
        _check_file(cib)
        res = _run(["cibadmin", "--query", "--timeout", str(max(1, int(timeout)))], cib=cib,
                   timeout=timeout + 5)
        if res["retcode"] != 0:
            raise _cluster_down(res, cib, "cibadmin --query")
        return _u("ohaf_cib.parse_cib")(res["stdout"])

    return _cached(NS, _key(cib), load, refresh=refresh)


def _write_xml(el, path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(ET.tostring(el))


# --- the one write path: copy -> crm_diff -> crm_verify -> cibadmin --patch -> re-read
def _diff_files(orig, new, secrets, timeout, key=None):
    """The crm_diff v2 patch from ``orig`` to ``new`` (files), None when they are equal;
    kept in the run cache under ``key`` when given (a stage's patch)."""
    def load():
        res = _run(["crm_diff", "--no-version", "--original", orig, "--new", new],
                   timeout=timeout, secrets=secrets)
        if res["retcode"] == 0:
            return None
        if res["retcode"] != 1:
            raise CommandExecutionError(
                f"crm_diff failed (rc={res['retcode']}): {res['stderr'].strip()}")
        return _u("ohaf_cib_patch.parse_patch")(res["stdout"])

    return load() if key is None else _cached(NS, key, load)


def _verify_file(path, secrets, timeout):
    res = _run(["crm_verify", "-V", "--xml-file", path], timeout=timeout, secrets=secrets)
    res["stdout"] = _u("ohaf_secret.scrub")(res["stdout"], secrets)
    return _u("ohaf_cib_patch.parse_verify")(res)


def _commit(orig, new, wanted, cib=None, secrets=(), timeout=DEFAULT_TIMEOUT, test=False,
            key=None):
    """Write to the target CIB (live, or the file ``cib``) what the CIB file ``new``
    (parsed: ``wanted``) changes in ``orig``: ``crm_diff``, ``crm_verify``, ONE
    ``cibadmin --patch``, the run cache dropped, a re-read in which every element the patch
    touched must be as in ``new``. Returns ``{"summary": [one line per change, ids only],
    "written": bool, "notes": [...]}``; ``test=True`` stops after the diff."""
    patch = _diff_files(orig, new, secrets, timeout, key)
    if patch is None:
        return {"summary": [], "written": False, "notes": []}
    out = {"summary": _u("ohaf_cib_patch.summary")(patch), "written": False, "notes": []}
    if test:
        return out
    check = _verify_file(new, secrets, timeout)
    if not check["valid"]:  # errors the original had too only make a note
        out["notes"] = _u("ohaf_cib_patch.verdict")(check, _verify_file(orig, secrets, timeout))
    tmpdir = tempfile.mkdtemp(prefix="crm-patch-")
    try:
        path = os.path.join(tmpdir, "patch.xml")
        _write_xml(patch, path)
        res = _run(["cibadmin", "--patch", "--xml-file", path,
                    "--timeout", str(max(1, int(timeout)))],
                   cib=cib, timeout=timeout + 5, secrets=secrets)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        _invalidate()
    if res["retcode"] != 0:
        raise _cluster_down(res, cib, "cibadmin --patch")
    off = _u("ohaf_cib_patch.off_targets")(patch, _read(cib, timeout=timeout, refresh=True),
                                           wanted)
    if off:
        raise CommandExecutionError("verification failed: after cibadmin --patch the CIB "
                                    f"differs from the copy it was made from at {', '.join(off)}")
    out["written"] = True
    return out


def _plan_and_commit(cib, timeout, test, secrets, **plan):
    """One state's change (``ohaf_cib_edit.plan``) made to a copy of the CIB, written by
    ``_commit`` unless ``test`` or nothing changes."""
    root = _read(cib, timeout=timeout)
    res = _u("ohaf_cib_edit.plan")(root, **plan)
    out = {"changes": res["changes"], "written": False, "notes": res["notes"]}
    if not res["changes"] or test:
        return out
    tmpdir = tempfile.mkdtemp(prefix="crm-write-")
    try:
        orig, new = os.path.join(tmpdir, STAGE_ORIG), os.path.join(tmpdir, STAGE_NEW)
        _write_xml(root, orig)
        _write_xml(res["root"], new)
        done = _commit(orig, new, res["root"], cib=cib, secrets=secrets, timeout=timeout)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    out["notes"] += done["notes"]
    out["written"] = done["written"]
    return out


# --- resource agents: does this node have the agent, which params does it take ---------
def _fenced_binary():
    for path in FENCED_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _fencer_params():
    """The fencer's device params (pcmk_host_list...): one ``pacemaker-fenced metadata`` per
    run; None without the daemon binary (then any ``pcmk_*`` name is accepted)."""
    def load():
        path = _fenced_binary()
        if path:
            res = _run([path, "metadata"])
            if res["retcode"] == 0:
                return set(_u("ohaf_cib_agent.parse_metadata")(res["stdout"],
                                                               "pacemaker-fenced")["params"])
        return None

    return _cached(AGENT_NS, "__fenced__", load)


def _systemd_agent(typ):
    """A systemd: agent exists when systemd knows its unit file (Pacemaker's systemd metadata
    exists for ANY name): ``systemctl list-unit-files --output=json``, PID 1 or not."""
    units = _u("ohaf_cib_agent.systemd_units")(typ)
    if "error" in units or not salt.utils.path.which("systemctl"):
        return units if "error" in units else {
            "error": "systemctl is not on PATH: this node cannot run systemd: resources"}
    res = _run(["systemctl", "list-unit-files", "--output=json", "--no-pager", "--"]
               + units["units"])
    return _u("ohaf_cib_agent.systemd_state")(res, units["units"])


def agent_metadata(agent, stonith=False):
    """
    What this node knows of a resource agent, one ``crm_resource --show-metadata`` (systemd:
    ``systemctl list-unit-files``) per agent per run: ``{"agent": "ocf:heartbeat:IPaddr2",
    "params": {name: {required, deprecated, obsoletes, replaced_with}}}`` or ``{"agent":
    ..., "error": "why it cannot run here"}``.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.agent_metadata ocf:heartbeat:IPaddr2
    """
    full = _u("ohaf_cib_spec.agent_name")(agent, stonith=stonith)

    def load():
        if full.startswith("systemd:"):
            info = _systemd_agent(full.split(":", 1)[1])
        elif not salt.utils.path.which("crm_resource"):
            info = {"error": "crm_resource (pacemaker-cli-utils) is not on PATH"}
        else:
            info = _u("ohaf_cib_agent.metadata_of")(
                _run(["crm_resource", "--show-metadata", full]), full)
        return dict(info, agent=full)

    return _cached(AGENT_NS, full, load)


def check_resource_agent(kind, name, agent, params=None, undeclared_params=None, stonith=False):
    """
    Refuse (CommandExecutionError) a primitive this node cannot run: agent not installed,
    a param its metadata does not declare (``undeclared_params``: names it reads all the
    same), a required param missing (``ohaf_cib_agent.check``). Returns notes (deprecated
    spellings in use). Names only, never values.
    CLI Example: ``salt '*' crm.check_resource_agent resource vip IPaddr2 params='{ip: 10.0.0.1}'``
    """
    info = agent_metadata(agent, stonith=stonith)
    fencer = None
    if info["agent"].startswith("stonith:") and "error" not in info:
        fencer = _fencer_params()
    return _u("ohaf_cib_agent.check")(f"{kind} {name}", info, params=params,
                                      undeclared_params=undeclared_params, fencer=fencer)


# --- objects: desired, planned, applied --------------------------------------------------
def desired(what, name, check_agent=True, undeclared_params=None, **spec):
    """
    The normalised object ``what`` (as ``apply``) a crm state asks for, checked before the
    CIB is read: the spec, and this node's agent for a primitive (``check_agent``). Returns
    ``{"want": {...}, "notes": [deprecated spellings in use]}``.
    CLI Example: ``salt '*' crm.desired primitive lan_ip agent=IPaddr2 params='{ip: 10.0.0.1}'``
    """
    want = _u("ohaf_cib_spec.desired")(what, spec)
    notes = []
    if want["type"] == "primitive" and check_agent:
        stonith = want["agent"].startswith("stonith:")
        notes = check_resource_agent(
            "stonith device" if stonith else "resource", name, want["agent"],
            params=want["params"], undeclared_params=undeclared_params, stonith=stonith)
    return {"want": want, "notes": notes}


def plan(current, what, name=None, hidden_params=None, **args):
    """
    The crm states' diff: what one change would do to the CIB ``current`` (XML text or a
    parsed root), nothing read or written: ``{"changes": {...}, "notes": [...]}``. ``what``:
    an object kind (``args``: ``apply``'s spec), ``absent`` (kind, recursive) or
    ``properties`` (properties, section, set_id).
    CLI Example: ``salt '*' crm.plan "$(cat cib.xml)" absent aoe_data``
    """
    root = current if ET.iselement(current) else _u("ohaf_cib.parse_cib")(current, "crm.plan")
    args = {k: v for k, v in args.items() if not k.startswith("__")}
    if what in ("absent", "properties"):
        res = _u("ohaf_cib_edit.plan")(root, what, name, **args)
    else:
        res = _u("ohaf_cib_edit.plan")(root, "object", name,
                                       want=_u("ohaf_cib_spec.desired")(what, args),
                                       hidden=hidden_params)
    return {"changes": res["changes"], "notes": res["notes"]}


def apply(what, name, cib=None, test=False, hidden_params=None, timeout=DEFAULT_TIMEOUT,
          check_agent=True, undeclared_params=None, **spec):
    """
    Make one object match ``spec`` (plain data, the state's arguments); returns
    ``{"changes": {...}, "written": bool, "notes": [...]}``; ``test=True``: the diff only.
    what: primitive (alias resource), stonith, clone (alias ms), group, colocation, order,
    location. A primitive's agent is checked first (``check_resource_agent``), test=True
    too; ``check_agent=False`` skips it (an offline CIB built off the cluster).

    CLI Example:

    .. code-block:: bash

        salt '*' crm.apply primitive lan_ip agent=ocf:heartbeat:IPaddr2 \
            params='{ip: 10.0.0.1, nic: eth2}' cib=/tmp/cib.xml test=True
    """
    info = desired(what, name, check_agent=check_agent, undeclared_params=undeclared_params,
                   **spec)
    hidden = list(hidden_params or [])
    secrets = _u("ohaf_cib.secret_values")(info["want"], hidden=hidden)
    out = _plan_and_commit(cib, timeout, test, secrets, what="object", name=str(name),
                           want=info["want"], hidden=hidden)
    out["notes"] = info["notes"] + out["notes"]
    return out


def diff(what, name, cib=None, hidden_params=None, timeout=DEFAULT_TIMEOUT, **spec):
    """``apply`` with ``test=True``: the changes that would be made, nothing written."""
    return apply(what, name, cib=cib, test=True, hidden_params=hidden_params, timeout=timeout,
                 **spec)["changes"]


def build(what, name, cib=None, hidden_params=None, **spec):
    """
    The XML ``apply`` would store for a NEW primitive/stonith/constraint (ids generated,
    secrets masked), against an empty CIB or ``cib`` (its schema, its ids); nothing written.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.build primitive fs_one agent=ocf:heartbeat:Filesystem \
            params='{device: /dev/drbd1, directory: /srv/cloud/one, fstype: ext4}'
    """
    want = _u("ohaf_cib_spec.desired")(what, spec)
    return _u("ohaf_cib_edit.build")(want, name, hidden=hidden_params,
                                     live=_read(cib) if cib else None)


def remove(name, kind="resource", recursive=None, cib=None, test=False,
           timeout=DEFAULT_TIMEOUT):
    """
    Remove a resource (and, in the same write, every constraint reference to it; containers
    left empty go too) or a constraint (``kind=constraint``). Returns like ``apply``.

    ``recursive``: None (default) removes a clone with its child and a group without its
    members (kept as top-level primitives, like crmsh); True/False force either way.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.remove aoe_data cib=/tmp/cib.xml
    """
    return _plan_and_commit(cib, timeout, test, (), what="absent", name=str(name), kind=kind,
                            recursive=recursive)


def set_properties(properties, section="crm_config", set_id=None, cib=None, test=False,
                   timeout=DEFAULT_TIMEOUT):
    """
    Set (value) or remove (value None) cluster properties (``crm_config``), resource defaults
    (``rsc_defaults``) or operation defaults (``op_defaults``); only listed keys are touched.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.set_properties '{no-quorum-policy: ignore, stonith-enabled: false}'
    """
    if not isinstance(properties, dict) or not properties:
        raise CommandExecutionError("properties must be a non-empty mapping")
    secrets = {str(v) for k, v in properties.items()
               if v not in (None, "") and _u("ohaf_cib.is_secret")(str(k))}
    return _plan_and_commit(cib, timeout, test, secrets, what="properties",
                            properties=properties, section=section, set_id=set_id)


def get(name, cib=None, hidden_params=None, timeout=DEFAULT_TIMEOUT):
    """
    One resource or constraint as normalised plain data (secrets masked), or None.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.get ms_drbd_one
    """
    el = _u("ohaf_cib.find_object")(_read(cib, timeout=timeout), str(name))
    if el is None:
        return None
    return _u("ohaf_cib.mask")(_u("ohaf_cib.norm")(el), hidden_params)


def properties(section="crm_config", cib=None, timeout=DEFAULT_TIMEOUT):
    """Rule-less properties of ``crm_config``/``rsc_defaults``/``op_defaults`` as a dict."""
    return _u("ohaf_cib.section_values")(_read(cib, timeout=timeout), section)


def property_value(name, section="crm_config", cib=None, timeout=DEFAULT_TIMEOUT):
    """
    One rule-less property of ``section`` as the CIB holds it (a string), None when unset.
    Read fresh each call (a wait polls it): e.g. ``have-watchdog``, which Pacemaker's DC
    writes itself ("true" when sbd runs on the node).

    CLI Example:

    .. code-block:: bash

        salt '*' crm.property_value have-watchdog
    """
    values = _u("ohaf_cib.section_values")(_read(cib, timeout=timeout, refresh=True), section)
    value = values.get(str(name))
    return None if value is None else str(value)


# --- staging: a whole graph built on a copy, written with one patch ---------------------
def stage(directory, cib=None, timeout=DEFAULT_TIMEOUT):
    """
    Copy the CIB (live, or the file ``cib``) into ``directory`` twice: ``orig.xml`` (the
    snapshot) and ``staged.xml`` (the copy states edit with ``cib=<directory>/staged.xml``);
    ``crm.push`` then writes the difference with ONE ``cibadmin --patch`` (pcs' ``cib-push
    diff-against``): Pacemaker never acts on a half-built graph. Fence passwords included:
    directory 0700, files 0600. Returns ``{"orig", "staged", "epoch"}``.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.stage /run/opennebula-ha-formula/cib
    """
    root = _read(cib, timeout=timeout)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    orig, new = os.path.join(directory, STAGE_ORIG), os.path.join(directory, STAGE_NEW)
    for path in (orig, new):
        _write_xml(root, path)
    _invalidate()
    _u("ohaf_cache.put")(__context__, NS, _key(cib), root)  # the source is unchanged
    epoch = ".".join(root.get(a, "0") for a in ("admin_epoch", "epoch", "num_updates"))
    return {"orig": orig, "staged": new, "epoch": epoch}


def push(directory, cib=None, test=False, timeout=DEFAULT_TIMEOUT):
    """
    Write what the states changed in ``<directory>/staged.xml`` since ``crm.stage`` to the
    cluster (or the file ``cib``) through the module's one write path (crm_diff of
    ``orig.xml`` and ``staged.xml``, crm_verify, ONE cibadmin --patch, re-read checked).
    Returns ``{"changes": [one line per change, ids only], "written": bool}``; ``test=True``
    reports only (the patch is kept for the run: one crm_diff for both).

    CLI Example:

    .. code-block:: bash

        salt '*' crm.push /run/opennebula-ha-formula/cib
    """
    orig, new = os.path.join(directory, STAGE_ORIG), os.path.join(directory, STAGE_NEW)
    for path in (orig, new):
        if not os.path.isfile(path):
            raise CommandExecutionError(f"{path} does not exist: run crm.stage {directory} first")
    staged = ET.parse(new).getroot()
    done = _commit(orig, new, staged, cib=cib, secrets=_u("ohaf_cib.nvpair_secrets")(staged),
                   timeout=timeout, test=test, key=f"patch:{os.path.abspath(directory)}")
    return {"changes": done["summary"], "written": done["written"]}


# --- reads for operators and guards ------------------------------------------------------
def query(cib=None, scope=None, refresh=False, show_secrets=False, timeout=DEFAULT_TIMEOUT):
    """
    The CIB (or one ``scope``: configuration, resources, crm_config, nodes, status...) as
    XML text, secret nvpair values masked unless ``show_secrets=True`` (the states' read).

    CLI Example:

    .. code-block:: bash

        salt '*' crm.query scope=resources
        salt '*' crm.query cib=/srv/staging/cib.xml
    """
    root = _read(cib, timeout=timeout, refresh=refresh)
    el = root
    if scope and scope != "cib":
        el = next((e for e in root.iter(scope)), None)
        if el is None:
            return ""
    if not show_secrets:
        el = _u("ohaf_cib.mask_nvpairs")(el)
    return ET.tostring(el, encoding="unicode")


def verify(cib=None, timeout=DEFAULT_TIMEOUT):
    """
    Run ``crm_verify -V`` (``-L`` on the live cluster, ``-x FILE`` for ``cib``) and return
    ``{"valid": bool, "retcode": int, "errors": [...], "warnings": [...], "output": text}``
    with Pacemaker's own messages.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.verify
        salt '*' crm.verify cib=/srv/staging/cib.xml
    """
    if cib:
        _check_file(cib)
        argv = ["crm_verify", "-V", "--xml-file", os.path.abspath(cib)]
    else:
        argv = ["crm_verify", "-V", "--live-check"]
    res = _run(argv, timeout=timeout)
    out = _u("ohaf_cib_patch.parse_verify")(res)
    if not cib and not out["valid"] and not out["errors"] and _u(
            "ohaf_cib_patch.not_running")(out["output"]):
        raise _cluster_down(res, None, "crm_verify")
    return out


def show(name=None, cib=None, timeout=DEFAULT_TIMEOUT):
    """
    Human readable configuration via ``crm configure show`` (display only; falls back to the
    XML of ``crm.query`` when crmsh is missing).

    CLI Example:

    .. code-block:: bash

        salt '*' crm.show ha_group
    """
    if cib:
        _check_file(cib)
    if salt.utils.path.which("crm"):
        res = _run(["crm", "configure", "show"] + ([str(name)] if name else []), cib=cib,
                   timeout=timeout)
        if res["retcode"] == 0:
            return _u("ohaf_cib.mask_crmsh")(res["stdout"])
        if not cib:
            raise _cluster_down(res, None, "crm configure show")
    if name:
        return str(get(name, cib=cib, timeout=timeout))
    return query(cib=cib, scope="configuration", timeout=timeout)


def wait_for_dc(timeout=60, interval=1, cib=None):
    """
    Wait (at most ``timeout`` seconds) until the live cluster has elected a DC: ``{"dc": node
    name or id, "have_quorum": bool, "waited": seconds}``, or "cluster not running". With
    ``cib`` (offline file): at once, what the file says.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.wait_for_dc timeout=120
    """
    start = time.monotonic()
    if cib:
        root = _read(cib)
        return {"dc": root.get("dc-uuid"), "have_quorum": _u("ohaf_cib.dc_of")(root)[
            "have_quorum"], "waited": 0, "offline": True}
    deadline = start + float(timeout)
    last = "no answer"
    while True:
        per_call = min(5, max(1, int(deadline - time.monotonic())))
        try:
            res = _run(["cibadmin", "--query", "--timeout", str(per_call)], timeout=per_call + 2)
            if res["retcode"] == 0:
                dc = _u("ohaf_cib.dc_of")(ET.fromstring(res["stdout"]))
                if dc["dc"]:
                    return dict(dc, waited=round(time.monotonic() - start, 1))
                last = "no DC elected yet"
            else:
                last = ((res["stderr"] or res["stdout"]).strip().splitlines()[0:1] or ["?"])[0]
        except (CommandExecutionError, ET.ParseError) as exc:
            last = str(exc)
        if time.monotonic() + float(interval) > deadline:
            raise CommandExecutionError(
                f"cluster not running: no DC elected within {timeout}s ({last})")
        time.sleep(float(interval))


def from_crmsh(line, cib=None):
    """
    One crmsh ``configure`` line (primitive, ms, clone, group, colocation, order, property)
    as the arguments of the matching ``crm`` state (to port an old how-to to SLS):
    ``{"state": "crm.<fn>", "name": ..., **args}``. Pure parsing (``cib`` is not read).

    CLI Example:

    .. code-block:: bash

        salt-call crm.from_crmsh 'order ha_after_drbd inf: ms_drbd_one:promote ha_group:start'
    """
    return _u("ohaf_crmsh.from_crmsh")(line)
