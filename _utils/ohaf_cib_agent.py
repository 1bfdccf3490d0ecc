"""Resource agents as Pacemaker describes them (``__utils__["ohaf_cib_agent.*"]``): the
``<resource-agent>`` metadata of ``crm_resource --show-metadata``, ``systemctl
list-unit-files --output=json`` for ``systemd:`` agents, and the check of a primitive's
params against them (the crm module runs the tools and caches the answers per run).

Refused, not warned (CONTRIBUTING.md, "Pacemaker resource agents"): an undeclared param
reaches the agent as an ``OCF_RESKEY_*`` variable nobody reads, a missing required one or
agent only shows on the cluster after the write. Messages name params, never values.
"""
import json
import re
import xml.etree.ElementTree as ET

from salt.exceptions import CommandExecutionError

# read by ocf-shellfuncs for every OCF agent (tracing), declared by few agents' metadata
OCF_COMMON_PARAMS = ("trace_ra", "trace_file")
# the fencer supplies the victim to the agent itself (pcmk_host_argument, default port/plug)
STONITH_SUPPLIED = ("action", "port", "plug", "nodename")
SYSTEMD_SUFFIXES = (".service", ".socket", ".mount", ".timer", ".path")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]+$")
_TRUE_ATTR = ("1", "true", "yes")


def parse_metadata(xml_text, agent):
    """``<resource-agent>`` metadata -> ``{"params": {name: {required, deprecated,
    obsoletes, replaced_with}}}``."""
    try:
        root = ET.fromstring(xml_text.encode() if isinstance(xml_text, str) else xml_text)
    except ET.ParseError as exc:
        raise CommandExecutionError(f"agent {agent}: unparsable metadata XML: {exc}")
    if root.tag != "resource-agent":
        raise CommandExecutionError(f"agent {agent}: metadata is not a <resource-agent>")
    params = {}
    section = root.find("parameters")
    for p in (section if section is not None else []):
        if p.tag != "parameter" or not p.get("name"):
            continue
        dep = p.find("deprecated")  # OCF 1.1: <deprecated><replaced-with name=.../></deprecated>
        replaced = [r.get("name") for r in dep.iter("replaced-with")] if dep is not None else []
        params[p.get("name")] = {
            "required": str(p.get("required", "0")).lower() in _TRUE_ATTR,
            "deprecated": (str(p.get("deprecated", "0")).lower() in _TRUE_ATTR
                           or dep is not None),
            "obsoletes": p.get("obsoletes"),
            "replaced_with": replaced,
        }
    return {"params": params}


def metadata_of(res, agent):
    """What ``crm_resource --show-metadata <agent>`` (cmd.run_all's dict) says: the parsed
    metadata, or ``{"error": ...}`` in crm_resource's words (rc 105: not installed)."""
    if res["retcode"] == 0:
        return parse_metadata(res["stdout"], agent)
    err = [ln for ln in (res.get("stderr") or "").strip().splitlines() if ln.strip()]
    why = err[0].split(" failed: ", 1)[-1] if err else f"rc={res['retcode']}"
    return {"error": f"not available on this node (crm_resource --show-metadata: {why})"}


def systemd_units(typ):
    """The unit files that make ``systemd:<typ>`` runnable (an instance ``foo@bar`` also
    by its template ``foo@.service``), or ``{"error": ...}`` for an invalid name."""
    unit = typ if typ.endswith(SYSTEMD_SUFFIXES) else f"{typ}.service"
    if not _UNIT_NAME.match(unit):
        return {"error": f"{unit!r} is not a valid systemd unit name"}
    names = [unit]
    if "@" in unit:
        base, _, rest = unit.partition("@")
        names.append(f"{base}@{rest[rest.rfind('.'):]}")
    return {"units": names}


def systemd_state(res, names):
    """What ``systemctl list-unit-files --output=json -- <names>`` (cmd.run_all's dict) says
    of the first unit: ``{"params": {}}`` (runnable, takes no params) or ``{"error": ...}``
    (no such unit file, masked)."""
    try:
        found = {u.get("unit_file"): u.get("state") for u in json.loads(res["stdout"] or "[]")}
    except (ValueError, AttributeError, TypeError):
        err = (res.get("stderr") or res.get("stdout") or "").strip().splitlines()
        return {"error": "systemctl list-unit-files gave no JSON: "
                         + (err[0] if err else f"rc={res.get('retcode')}")}
    for n in names:
        if n in found:
            if found[n] in ("masked", "masked-runtime", "bad"):
                return {"error": f"unit {n} is {found[n]}: systemd will not start it"}
            return {"params": {}}
    return {"error": f"no unit file {names[0]} on this node (package not installed?)"}


def _equivalents(declared):
    """name -> the set of names standing for the same setting (obsoletes / replaced-with)."""
    eq = {n: {n} for n in declared}
    for n, d in declared.items():
        for other in [d.get("obsoletes")] + list(d.get("replaced_with") or []):
            if other:
                group = eq.get(n, {n}) | eq.get(other, {other})
                for m in group:
                    eq[m] = group
    return eq


def _problems(cls, declared, given, params, allowed, fencer, eq):
    unknown = sorted(p for p in given
                     if p not in allowed and not (cls == "stonith" and fencer is None
                                                  and p.startswith("pcmk_")))
    supplied = set(given)
    if cls == "stonith":
        host_arg = (params or {}).get("pcmk_host_argument")
        supplied |= set(STONITH_SUPPLIED) | ({str(host_arg)} if host_arg else set())
    missing = sorted(n for n, d in declared.items()
                     if d["required"] and not (eq.get(n, {n}) & supplied)
                     and not (d["deprecated"] and len(eq.get(n, {n})) > 1))
    problems = []
    if unknown:
        shown = sorted(allowed) if fencer is not None or cls != "stonith" \
            else sorted(allowed) + ["pcmk_* (fencer)"]
        problems.append(f"parameter(s) not declared by the agent: {', '.join(unknown)}; "
                        f"allowed: {', '.join(shown) or 'none (this agent takes no parameters)'}")
    if missing:
        problems.append(f"required parameter(s) missing: {', '.join(missing)}")
    return problems, bool(unknown)


def check(label, info, params=None, undeclared_params=None, fencer=None):
    """Refuse (CommandExecutionError ``<label>: agent ...``) a primitive whose agent
    ``info`` (``crm.agent_metadata``) says it cannot run here, or whose ``params`` name one
    the agent does not declare (plus ``trace_ra``/``trace_file`` for OCF, the fencer's names
    ``fencer`` for stonith, None: any ``pcmk_*``; ``undeclared_params``), or lack a required
    one (an obsolete spelling counts; the fencer supplies stonith's ``port``/``plug``).
    Returns notes: deprecated spellings in use."""
    full = info["agent"]
    if "error" in info:
        raise CommandExecutionError(f"{label}: agent {full} {info['error']}"
                                    if info["error"].startswith("not available")
                                    else f"{label}: agent {full}: {info['error']}")
    declared = info["params"]
    cls = full.split(":")[0]
    allowed = set(declared) | set(undeclared_params or ())
    if cls == "ocf":
        allowed |= set(OCF_COMMON_PARAMS)
    if cls == "stonith" and fencer is not None:
        allowed |= set(fencer)
    given = [str(p) for p in (params or {})]
    eq = _equivalents(declared)
    problems, unknown = _problems(cls, declared, given, params, allowed,
                                  fencer if cls == "stonith" else None, eq)
    if problems:
        raise CommandExecutionError(f"{label}: agent {full}: " + "; ".join(problems)
                                    + " (undeclared_params lists names an agent reads "
                                      "without declaring them)" * unknown)
    notes = []
    for p in given:
        d = declared.get(p)
        if d and d["deprecated"]:
            new = sorted(eq.get(p, {p}) - {p})
            notes.append(f"agent {full}: parameter {p} is deprecated"
                         + (f", use {', '.join(new)}" if new else ""))
    return notes
