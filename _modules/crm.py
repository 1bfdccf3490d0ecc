"""
Pacemaker CIB management with ``cibadmin``/``crm_verify`` (no crmsh parsing).

Every function takes an optional ``cib`` argument: the path of a CIB XML file to work on
offline (tools run with ``CIB_file=<path>``). Without it the live cluster is used.

Design
------
* One read: ``cibadmin --query`` parsed with ``xml.etree``; cached in ``__context__`` per CIB
  (live or file) and invalidated by every write of this module.
* Desired objects are described with plain data (dicts/lists/strings, YAML-friendly), turned
  into XML here (crmsh 4.4 cannot parse some agents' metadata and drops unknown group members,
  so it is never used to build configuration; ``show`` uses it for display only).
* Changes are applied in memory to a copy of the CIB, the full copy is checked with
  ``crm_verify -x`` and then written with ONE ``cibadmin --replace`` of the smallest section
  that covers every change (``resources``, ``constraints``, ``crm_config``... or the whole
  ``configuration`` when several sections change, e.g. a resource and the constraints that
  reference it). Nothing is written when nothing differs.
* Comparison is normalised: generated ids, attribute order, empty sets, ``Master``/``Promoted``,
  ``Slave``/``Unpromoted``, ``true``/``1``/``yes`` for boolean options, ``40s``/``40000ms``,
  ``inf``/``INFINITY``, ``master-max``/``promoted-max``.
* Secrets (params named like ``*passw*``, ``*secret*``, ``*key*`` or listed in
  ``hidden_params``) are reported as ``<hidden>`` and scrubbed from error text.
"""
import copy
import json
import logging
import os
import re
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET

import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "crm"

HIDDEN = "<hidden>"
SECRET_HINTS = ("passw", "secret", "key")
DEFAULT_TIMEOUT = 30
CTX = "crm.cib"

# meta attributes that operators change at run time (crm resource stop/unmanage/maintenance):
# managed only when the state declares them.
RUNTIME_META = ("target-role", "is-managed", "maintenance")

META_ALIASES = {"master-max": "promoted-max", "master-node-max": "promoted-node-max"}
BOOL_KEYS = {
    "notify", "globally-unique", "ordered", "interleave", "promotable", "is-managed",
    "maintenance", "allow-migrate", "critical", "enabled", "record-pending", "sequential",
    "require-all", "symmetrical", "stonith-enabled", "symmetric-cluster", "maintenance-mode",
    "start-failure-is-fatal", "enable-startup-probes", "stop-all-resources",
    "stop-orphan-resources", "stop-orphan-actions", "remove-after-stop", "concurrent-fencing",
    "startup-fencing", "shutdown-lock", "enable-acl", "stonith-watchdog-enabled",
}
TRUE = {"true", "on", "yes", "y", "1"}
FALSE = {"false", "off", "no", "n", "0"}
DURATION_KEYS = {"interval", "timeout", "start-delay"}
ROLE_KEYS = {"role", "rsc-role", "with-rsc-role", "target-role"}
ROLES = {
    "master": "Promoted", "promoted": "Promoted", "slave": "Unpromoted",
    "unpromoted": "Unpromoted", "started": "Started", "stopped": "Stopped",
}
RESOURCE_TAGS = ("primitive", "group", "clone", "master", "bundle")
CONSTRAINT_TAGS = ("rsc_location", "rsc_colocation", "rsc_order", "rsc_ticket")
SECTIONS = {
    "crm_config": ("cluster_property_set", "cib-bootstrap-options"),
    "rsc_defaults": ("meta_attributes", "rsc-options"),
    "op_defaults": ("meta_attributes", "op-options"),
}
AGENT_CLASSES = ("ocf", "lsb", "systemd", "service", "stonith", "upstart", "nagios", "heartbeat")
OP_ATTRS = (
    "name", "interval", "timeout", "role", "on-fail", "start-delay", "interval-origin",
    "record-pending", "enabled", "description",
)
NOT_RUNNING = (
    "Transport endpoint is not connected", "Connection refused", "Could not connect",
    "No such file or directory", "Input file not available", "not connected",
)


def __virtual__():
    if salt.utils.path.which("cibadmin"):
        return __virtualname__
    return (False, "crm: cibadmin (pacemaker-cli-utils) is not on PATH")


# --------------------------------------------------------------------------------------
# running tools
# --------------------------------------------------------------------------------------
def _env(cib):
    return {"CIB_file": os.path.abspath(cib)} if cib else None


def _scrub(text, secrets=()):
    text = text or ""
    for value in secrets:
        if value and len(str(value)) > 1:
            text = text.replace(str(value), HIDDEN)
    return text


def _run(argv, cib=None, timeout=DEFAULT_TIMEOUT, secrets=()):
    """Run one command (argument list) through cmd.run_all; never logs output (secrets)."""
    ret = __salt__["cmd.run_all"](
        argv,
        python_shell=False,
        env=_env(cib),
        timeout=timeout,
        ignore_retcode=True,
        output_loglevel="quiet",
    )
    out = ret.get("stdout") or ""
    if ret.get("retcode") and re.search(r"Timed out after [\d.]+ seconds\s*$", str(out)):
        where = f"CIB file {cib}" if cib else "the live cluster"
        raise CommandExecutionError(
            f"{argv[0]} did not answer within {timeout}s on {where}: cluster not running "
            "or not responding"
        )
    ret["stdout"] = out
    ret["stderr"] = _scrub(ret.get("stderr") or "", secrets)
    return ret


def _cluster_down(ret, cib, what):
    err = (ret.get("stderr") or "").strip() or (ret.get("stdout") or "").strip()
    if cib:
        return CommandExecutionError(f"{what} failed on CIB file {cib}: {err}")
    if ret.get("retcode") in (102, 107, 66) or any(m in err for m in NOT_RUNNING):
        first = err.splitlines()[0] if err else f"rc={ret.get('retcode')}"
        return CommandExecutionError(
            f"cluster not running: cannot reach the Pacemaker CIB manager on this node ({first})"
        )
    return CommandExecutionError(f"{what} failed (rc={ret.get('retcode')}): {err}")


def _check_file(cib):
    if cib and not os.path.isfile(cib):
        raise CommandExecutionError(f"CIB file {cib} does not exist (create it with cibadmin --empty)")


def _cache(cib):
    return __context__.setdefault(CTX, {}), (os.path.abspath(cib) if cib else "")


def _invalidate(cib=None):
    store, key = _cache(cib)
    store.pop(key, None)


def _read(cib=None, timeout=DEFAULT_TIMEOUT, refresh=False):
    """The CIB as an ElementTree root; one ``cibadmin --query`` per run (cached)."""
    store, key = _cache(cib)
    if not refresh and key in store:
        return store[key]
    _check_file(cib)
    argv = ["cibadmin", "--query", "--timeout", str(max(1, int(timeout)))]
    ret = _run(argv, cib=cib, timeout=timeout + 5)
    if ret["retcode"] != 0:
        raise _cluster_down(ret, cib, "cibadmin --query")
    try:
        root = ET.fromstring(ret["stdout"])
    except ET.ParseError as exc:
        raise CommandExecutionError(f"cibadmin --query returned unparsable XML: {exc}")
    if root.tag != "cib" or root.find("configuration") is None:
        raise CommandExecutionError("cibadmin --query did not return a <cib> with <configuration>")
    store[key] = root
    return root


# --------------------------------------------------------------------------------------
# normalisation helpers
# --------------------------------------------------------------------------------------
def _is_secret(name, hidden=None):
    low = str(name).lower()
    if hidden and name in hidden:
        return True
    return any(h in low for h in SECRET_HINTS)


def _s(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ms(value):
    m = re.match(r"^\s*(\d+)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$", str(value))
    if not m:
        return None
    n = int(m.group(1))
    unit = m.group(2) or "s"
    mult = {"ms": 1, "msec": 1, "us": 0.001, "usec": 0.001, "s": 1000, "sec": 1000,
            "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000}[unit]
    return int(n * mult)


def _score(value):
    v = str(value).strip()
    low = v.lower()
    if low in ("inf", "+inf", "infinity", "+infinity", "mandatory"):
        return "INFINITY"
    if low in ("-inf", "-infinity"):
        return "-INFINITY"
    if re.match(r"^[+-]?\d+$", v):
        return str(int(v))
    return v


def _role(value):
    return ROLES.get(str(value).strip().lower(), str(value))


def _valid_role(value, what):
    role = ROLES.get(str(value).strip().lower())
    if role is None:
        raise CommandExecutionError(
            f"{what}: role {value!r}; allowed: Started, Stopped, Promoted, Unpromoted "
            "(Master, Slave)")
    return role


def _canon(key, value):
    value = _s(value)
    if value is None:
        return None
    if key in BOOL_KEYS:
        low = value.strip().lower()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        return value
    if key in DURATION_KEYS:
        ms = _ms(value)
        return value if ms is None else ms
    if key in ROLE_KEYS:
        return _role(value)
    if key == "score":
        return _score(value)
    return value


def _same(a, b, key=None):
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = a or {}, b or {}
        keys = {k for k, v in a.items() if v is not None} | {k for k, v in b.items() if v is not None}
        return all(_same(a.get(k), b.get(k), k) for k in keys)
    if isinstance(a, list) or isinstance(b, list):
        a, b = a or [], b or []
        return len(a) == len(b) and all(_same(x, y, key) for x, y in zip(a, b))
    return _canon(key, a) == _canon(key, b)


def _meta_key(name):
    return META_ALIASES.get(name, name)


def _nvsets(elem, tag):
    """Direct, rule-less, non-reference nvsets of one kind."""
    return [
        s for s in elem.findall(tag)
        if s.find("rule") is None and s.get("id-ref") is None
    ]


def _read_nv(elem, tag, alias=False):
    out = {}
    for s in _nvsets(elem, tag):
        for nv in s.findall("nvpair"):
            name = nv.get("name")
            out[_meta_key(name) if alias else name] = nv.get("value", "")
    return out


def _schema_new(root):
    """True if the CIB schema accepts Promoted/Unpromoted (pacemaker-3.7+)."""
    v = root.get("validate-with", "")
    if v == "pacemaker-next":
        return True
    m = re.match(r"^pacemaker-(\d+)\.(\d+)$", v)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (3, 7)


def _role_out(value, root):
    role = _role(value)
    if not _schema_new(root):
        role = {"Promoted": "Master", "Unpromoted": "Slave"}.get(role, role)
    return role


def _interval_label(value):
    ms = _ms(value)
    if ms is None:
        return str(value)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def _op_key(op):
    key = f"{op.get('name')}-{_interval_label(op.get('interval', '0'))}"
    if op.get("role"):
        key += f"-{_role(op['role'])}"
    return key


# --------------------------------------------------------------------------------------
# element -> normalised plain data
# --------------------------------------------------------------------------------------
def _norm_op(op):
    d = {k: v for k, v in op.attrib.items() if k != "id"}
    params = _read_nv(op, "instance_attributes")
    meta = _read_nv(op, "meta_attributes")
    if params:
        d["params"] = params
    if meta:
        d["meta"] = meta
    return d


def _norm_primitive(el):
    agent = el.get("class", "")
    if el.get("provider"):
        agent += ":" + el.get("provider")
    agent += ":" + el.get("type", "")
    ops = {}
    ops_el = el.find("operations")
    if ops_el is not None:
        for op in ops_el.findall("op"):
            d = _norm_op(op)
            ops[_op_key(d)] = d
    d = {
        "type": "primitive",
        "agent": agent,
        "params": _read_nv(el, "instance_attributes"),
        "meta": _read_nv(el, "meta_attributes"),
        "utilization": _read_nv(el, "utilization"),
        "ops": ops,
    }
    if el.get("description"):
        d["description"] = el.get("description")
    return d


def _norm_clone(el):
    meta = _read_nv(el, "meta_attributes", alias=True)
    promotable = el.tag == "master" or _canon("promotable", meta.pop("promotable", "false")) is True
    child = next((c for c in el if c.tag in ("primitive", "group")), None)
    return {
        "type": "clone",
        "resource": child.get("id") if child is not None else None,
        "promotable": promotable,
        "meta": meta,
    }


def _norm_group(el):
    return {
        "type": "group",
        "members": [p.get("id") for p in el.findall("primitive")],
        "meta": _read_nv(el, "meta_attributes"),
    }


def _norm_set(s):
    d = {k: v for k, v in s.attrib.items() if k != "id"}
    d["resources"] = [r.get("id") for r in s.findall("resource_ref")]
    return d


def _norm_rule(r):
    d = {k: v for k, v in r.attrib.items() if k != "id"}
    exprs = []
    for e in r:
        if e.tag == "expression":
            exprs.append({k: v for k, v in e.attrib.items() if k != "id"})
        else:
            exprs.append({"tag": e.tag, **{k: v for k, v in e.attrib.items() if k != "id"}})
    d["expressions"] = exprs
    return d


def _norm_constraint(el):
    d = {k: v for k, v in el.attrib.items() if k != "id"}
    d["type"] = el.tag
    sets = [_norm_set(s) for s in el.findall("resource_set")]
    if sets:
        d["sets"] = sets
    rules = [_norm_rule(r) for r in el.findall("rule")]
    if rules:
        d["rules"] = rules
    if el.tag == "rsc_order":
        _order_kind(d)
    return d


def _order_kind(d):
    """rsc_order: fold the deprecated score into kind, fill pacemaker defaults."""
    if "score" in d and not d.get("kind"):
        sc = _score(d.pop("score"))
        d["kind"] = "Mandatory" if sc == "INFINITY" or (
            re.match(r"^\d+$", sc) and int(sc) > 0) else "Optional"
    d.pop("score", None)
    d.setdefault("kind", "Mandatory")
    if d.get("first") and not d.get("first-action"):
        d["first-action"] = "start"
    if d.get("then") and not d.get("then-action"):
        d["then-action"] = d.get("first-action", "start")
    d.setdefault("symmetrical", "false" if d["kind"] == "Serialize" else "true")
    return d


def _set_defaults(sets):
    out = []
    for s in sets or []:
        s = dict(s)
        s.setdefault("sequential", "true")
        s.setdefault("require-all", "true")
        out.append(s)
    return out


def _norm(el):
    if el.tag == "primitive":
        return _norm_primitive(el)
    if el.tag in ("clone", "master"):
        return _norm_clone(el)
    if el.tag == "group":
        return _norm_group(el)
    if el.tag in CONSTRAINT_TAGS:
        return _norm_constraint(el)
    return {"type": el.tag, **{k: v for k, v in el.attrib.items() if k != "id"}}


def _compare_view(d):
    """What is compared: constraints get defaults filled so omitted == default."""
    d = copy.deepcopy(d)
    if d.get("sets"):
        d["sets"] = _set_defaults(d["sets"])
    return d


def _mask(d, hidden):
    """Copy of a normalised object with secret params hidden."""
    d = copy.deepcopy(d)
    if isinstance(d, dict):
        for section in ("params", "meta", "utilization"):
            if isinstance(d.get(section), dict):
                d[section] = {
                    k: (HIDDEN if _is_secret(k, hidden) and v is not None else v)
                    for k, v in d[section].items()
                }
    return d


def _secret_values(*dicts, hidden=None):
    out = set()
    for d in dicts:
        for section in ("params", "meta", "utilization"):
            for k, v in ((d or {}).get(section) or {}).items():
                if _is_secret(k, hidden) and v:
                    out.add(str(v))
    return out


def _diff(old, new, hidden=None, sections=("params", "meta", "utilization", "ops")):
    """changes dict between two normalised objects (None = absent)."""
    if old is None and new is None:
        return {}
    if old is None:
        return {"old": None, "new": _mask(new, hidden)}
    if new is None:
        return {"old": _mask(old, hidden), "new": None}
    changes = {}
    cold, cnew = _compare_view(old), _compare_view(new)
    for key in sorted(set(cold) | set(cnew)):
        o, n = cold.get(key), cnew.get(key)
        if key in sections and (isinstance(o, dict) or isinstance(n, dict)):
            sub = {}
            o, n = o or {}, n or {}
            for k in sorted(set(o) | set(n)):
                a, b = o.get(k), n.get(k)
                if isinstance(a, dict) or isinstance(b, dict):
                    same = _same(a, b)
                else:
                    same = _same(a, b, k)
                secret = key != "ops" and _is_secret(k, hidden)
                if secret and a == "lrm://" and b is not None:
                    same = True  # stored with cibsecret: cannot compare, do not touch
                if not same:
                    if secret:
                        sub[k] = {"old": HIDDEN if a is not None else None,
                                  "new": HIDDEN if b is not None else None}
                    else:
                        sub[k] = {"old": a, "new": b}
            if sub:
                changes[key] = sub
        elif not _same(o, n, key):
            changes[key] = {"old": o, "new": n}
    return changes


# --------------------------------------------------------------------------------------
# desired spec (plain data) -> normalised
# --------------------------------------------------------------------------------------
def _parse_agent(agent, stonith=False):
    agent = str(agent)
    parts = agent.split(":")
    if stonith and len(parts) == 1:
        parts = ["stonith", agent]
    if len(parts) == 1:
        parts = ["ocf", "heartbeat", agent]
    cls = parts[0]
    if cls not in AGENT_CLASSES:
        raise CommandExecutionError(
            f"agent {agent!r}: unknown class {cls!r}; allowed: {', '.join(AGENT_CLASSES)}")
    if cls == "ocf":
        if len(parts) != 3 or not all(parts):
            raise CommandExecutionError(f"agent {agent!r}: ocf agents are ocf:<provider>:<type>")
        return cls, parts[1], parts[2]
    if len(parts) != 2 or not parts[1]:
        raise CommandExecutionError(f"agent {agent!r}: {cls} agents are {cls}:<type>")
    return cls, None, parts[1]


def _strdict(d, what):
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise CommandExecutionError(f"{what} must be a mapping of name: value")
    return {str(k): _s(v) for k, v in d.items() if v is not None}


def _ops_list(ops):
    """ops as a list of dicts, or {name: {...}} / {name: [{...}, ...]}."""
    if not ops:
        return []
    out = []
    if isinstance(ops, dict):
        for name, spec in ops.items():
            for one in (spec if isinstance(spec, list) else [spec or {}]):
                out.append(dict(one, name=name))
    elif isinstance(ops, list):
        out = [dict(o) for o in ops]
    else:
        raise CommandExecutionError("ops must be a list of {name, interval, timeout, ...}")
    for op in out:
        if not op.get("name"):
            raise CommandExecutionError(f"op {op!r} has no name")
        op.setdefault("interval", "0s")
    return out


def _desired_primitive(spec, stonith=False):
    cls, provider, typ = _parse_agent(spec.get("agent"), stonith=stonith)
    ops = {}
    for op in _ops_list(spec.get("ops")):
        d = {}
        for k, v in op.items():
            if k in ("params", "meta"):
                d[k] = _strdict(v, f"op {k}")
            elif k == "role":
                _valid_role(v, f"op {op.get('name')}")
                d[k] = _s(v)
            elif k in OP_ATTRS:
                d[k] = _s(v)
            else:
                raise CommandExecutionError(
                    f"op {op.get('name')}: unknown attribute {k!r}; allowed: "
                    f"{', '.join(OP_ATTRS + ('params', 'meta'))}")
        key = _op_key(d)
        if key in ops:
            raise CommandExecutionError(f"op {key} is declared twice")
        ops[key] = d
    d = {
        "type": "primitive",
        "agent": f"{cls}:{provider}:{typ}" if provider else f"{cls}:{typ}",
        "params": _strdict(spec.get("params"), "params"),
        "meta": _strdict(spec.get("meta"), "meta"),
        "utilization": _strdict(spec.get("utilization"), "utilization"),
        "ops": ops,
    }
    if spec.get("description"):
        d["description"] = str(spec["description"])
    return d


def _desired_clone(spec):
    if not spec.get("resource"):
        raise CommandExecutionError("clone: 'resource' (the cloned primitive or group) is required")
    meta = {_meta_key(k): v for k, v in _strdict(spec.get("meta"), "meta").items()}
    promotable = spec.get("promotable")
    if "promotable" in meta:
        mp = _canon("promotable", meta.pop("promotable"))
        promotable = mp if promotable is None else promotable
    return {
        "type": "clone",
        "resource": str(spec["resource"]),
        "promotable": bool(_canon("promotable", promotable or False)),
        "meta": meta,
    }


def _desired_group(spec):
    members = spec.get("members")
    if not members or not isinstance(members, list):
        raise CommandExecutionError("group: 'members' must be a non-empty list of primitive ids")
    members = [str(m) for m in members]
    if len(set(members)) != len(members):
        raise CommandExecutionError(f"group: members {members} contain duplicates")
    return {"type": "group", "members": members,
            "meta": _strdict(spec.get("meta"), "meta")}


def _split_token(token):
    token = str(token)
    if ":" in token:
        rsc, qual = token.split(":", 1)
        return rsc, qual
    return token, None


def _shorthand_sets(tokens, qual_key):
    """crmsh semantics: consecutive resources with the same role/action form one set."""
    sets = []
    for tok in tokens:
        rsc, qual = _split_token(tok)
        if sets and sets[-1].get(qual_key) == qual:
            sets[-1]["resources"].append(rsc)
        else:
            s = {"resources": [rsc]}
            if qual:
                s[qual_key] = qual
            sets.append(s)
    return sets


def _desired_sets(sets, role_root=None):
    out = []
    for s in sets or []:
        if not isinstance(s, dict) or not s.get("resources"):
            raise CommandExecutionError(f"resource set {s!r} needs a 'resources' list")
        d = {}
        for k, v in s.items():
            k = k.replace("_", "-")
            if k == "resources":
                d[k] = [str(r) for r in v]
            elif k == "role":
                d[k] = _valid_role(v, "resource set")
            else:
                d[k] = _s(v)
        out.append(d)
    return out


def _expand_resources(spec, what, keys, set_attr):
    """The `resources` shorthand of a colocation/order: two tokens (``rsc[:Role|:action]``)
    fill the pair ``keys`` = (a, b, a_suffix, b_suffix); three or more become one set each
    (``_shorthand_sets``, suffix = ``set_attr``)."""
    tokens = spec.get("resources")
    if not tokens:
        return spec
    tokens = list(tokens)
    if len(tokens) == 2:
        (a, ax), (b, bx) = _split_token(tokens[0]), _split_token(tokens[1])
        ka, kb, kax, kbx = keys
        return dict(spec, **{ka: a, kb: b, kax: ax or spec.get(kax), kbx: bx or spec.get(kbx)})
    if len(tokens) > 2:
        return dict(spec, sets=_shorthand_sets(tokens, set_attr))
    raise CommandExecutionError(f"{what}: 'resources' needs at least two entries")


def _desired_colocation(spec):
    d = {"type": "rsc_colocation", "score": _score(spec.get("score", "INFINITY"))}
    spec = _expand_resources(spec, "colocation", ("rsc", "with_rsc", "rsc_role", "with_rsc_role"), "role")
    if spec.get("sets"):
        d["sets"] = _desired_sets(spec["sets"])
    elif spec.get("rsc") and spec.get("with_rsc"):
        d["rsc"] = str(spec["rsc"])
        d["with-rsc"] = str(spec["with_rsc"])
        if spec.get("rsc_role"):
            d["rsc-role"] = _valid_role(spec["rsc_role"], "colocation rsc_role")
        if spec.get("with_rsc_role"):
            d["with-rsc-role"] = _valid_role(spec["with_rsc_role"], "colocation with_rsc_role")
    else:
        raise CommandExecutionError("colocation: give rsc + with_rsc, resources or sets")
    if spec.get("node_attribute"):
        d["node-attribute"] = str(spec["node_attribute"])
    if spec.get("influence") is not None:
        d["influence"] = _s(spec["influence"])
    return d


def _desired_order(spec):
    d = {"type": "rsc_order"}
    if spec.get("kind"):
        kind = str(spec["kind"]).capitalize()
        if kind not in ("Mandatory", "Optional", "Serialize"):
            raise CommandExecutionError(
                f"order: kind {spec['kind']!r}; allowed: Mandatory, Optional, Serialize")
        d["kind"] = kind
    elif spec.get("score") is not None:
        d["score"] = spec["score"]
    spec = _expand_resources(spec, "order", ("first", "then", "first_action", "then_action"), "action")
    if spec.get("sets"):
        d["sets"] = _desired_sets(spec["sets"])
    elif spec.get("first") and spec.get("then"):
        d["first"] = str(spec["first"])
        d["then"] = str(spec["then"])
        if spec.get("first_action"):
            d["first-action"] = str(spec["first_action"])
        if spec.get("then_action"):
            d["then-action"] = str(spec["then_action"])
    else:
        raise CommandExecutionError("order: give first + then, resources or sets")
    if spec.get("symmetrical") is not None:
        d["symmetrical"] = _s(spec["symmetrical"])
    return _order_kind(d)


def _desired_location(spec):
    d = {"type": "rsc_location"}
    if spec.get("rsc"):
        d["rsc"] = str(spec["rsc"])
    elif spec.get("rsc_pattern"):
        d["rsc-pattern"] = str(spec["rsc_pattern"])
    elif spec.get("sets"):
        d["sets"] = _desired_sets(spec["sets"])
    else:
        raise CommandExecutionError("location: give rsc, rsc_pattern or sets")
    if spec.get("role"):
        d["role"] = _valid_role(spec["role"], "location role")
    if spec.get("resource_discovery"):
        d["resource-discovery"] = str(spec["resource_discovery"])
    if spec.get("rules"):
        rules = []
        for r in spec["rules"]:
            r = dict(r)
            exprs = r.pop("expressions", None) or []
            rd = {k.replace("_", "-"): _s(v) for k, v in r.items()}
            if "score" in rd:
                rd["score"] = _score(rd["score"])
            if "role" in rd:
                rd["role"] = _role(rd["role"])
            rd["expressions"] = [
                {k.replace("_", "-"): _s(v) for k, v in e.items()} for e in exprs]
            if not rd["expressions"]:
                raise CommandExecutionError("location rule needs at least one expression")
            rules.append(rd)
        d["rules"] = rules
    elif spec.get("node") is not None and spec.get("score") is not None:
        d["node"] = str(spec["node"])
        d["score"] = _score(spec["score"])
    else:
        raise CommandExecutionError("location: give node + score, or rules")
    return d


# --------------------------------------------------------------------------------------
# in-memory edits of a CIB copy
# --------------------------------------------------------------------------------------
class _Ctx:
    def __init__(self, root):
        self.root = root
        self.conf = root.find("configuration")
        self.ids = {e.get("id") for e in root.iter() if e.get("id")}
        self.notes = []

    def section(self, name, create=True):
        el = self.conf.find(name)
        if el is None and create:
            el = ET.SubElement(self.conf, name)
        return el

    def new_id(self, base):
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", str(base))
        if not re.match(r"^[A-Za-z_]", base):
            base = "_" + base
        cand, n = base, 1
        while cand in self.ids:
            cand = f"{base}-{n}"
            n += 1
        self.ids.add(cand)
        return cand

    def find_id(self, rid):
        for el in self.conf.iter():
            if el.get("id") == rid and el.tag not in ("resource_ref",):
                return el
        return None

    def parent_map(self):
        return {c: p for p in self.conf.iter() for c in p}

    def resource(self, rid):
        res = self.section("resources")
        for el in res.iter():
            if el.get("id") == rid and el.tag in RESOURCE_TAGS:
                return el
        return None

    def resource_ids(self):
        res = self.section("resources")
        return {el.get("id") for el in res.iter() if el.tag in RESOURCE_TAGS}


def _patch_nv(ctx, elem, tag, desired, authoritative=True, keep=(), alias=False, hidden=None):
    sets = _nvsets(elem, tag)
    key = _meta_key if alias else (lambda k: k)
    found = {}
    for s in sets:
        for nv in s.findall("nvpair"):
            found.setdefault(key(nv.get("name")), (s, nv))
    touched = set()
    for name, value in desired.items():
        cname = key(name)
        if cname in found:
            s, nv = found.pop(cname)
            cur = nv.get("value")
            if _is_secret(cname, hidden) and cur == "lrm://":
                continue
            if not _same(cur, value, cname):
                nv.set("value", value)
                if nv.get("name") != name:
                    nv.set("name", name)
        else:
            if not sets:
                s = ET.Element(tag, {"id": ctx.new_id(f"{elem.get('id')}-{tag}")})
                _insert_nvset(elem, s)
                sets = [s]
            s = sets[0]
            ET.SubElement(s, "nvpair", {
                "id": ctx.new_id(f"{s.get('id')}-{name}"), "name": name, "value": value})
            touched.add(s)
    if authoritative:
        for cname, (s, nv) in found.items():
            if cname in keep:
                continue
            s.remove(nv)
            touched.add(s)
    for s in touched:
        if len(s) == 0 and s in list(elem):
            elem.remove(s)


def _insert_nvset(elem, nvset):
    """Keep the conventional order: nvsets before operations and child resources."""
    children = list(elem)
    for i, c in enumerate(children):
        if c.tag in ("operations", "primitive", "group") or (
                nvset.tag != "utilization" and c.tag == "utilization"):
            elem.insert(i, nvset)
            return
    elem.append(nvset)


def _op_element(ctx, rid, d, root):
    attrs = {"id": ctx.new_id(f"{rid}-{d['name']}-{d.get('interval', '0')}")}
    for k in OP_ATTRS:
        if d.get(k) is not None:
            attrs[k] = _role_out(d[k], root) if k == "role" else d[k]
    op = ET.Element("op", attrs)
    for k, tag in (("params", "instance_attributes"), ("meta", "meta_attributes")):
        if d.get(k):
            _patch_nv(ctx, op, tag, d[k])
    return op


def _patch_primitive(ctx, el, want, cur, hidden):
    cls, provider, typ = _parse_agent(want["agent"])
    if cur is None or not _same(cur.get("agent"), want["agent"]):
        el.set("class", cls)
        if provider:
            el.set("provider", provider)
        elif "provider" in el.attrib:
            del el.attrib["provider"]
        el.set("type", typ)
    if want.get("description"):
        el.set("description", want["description"])
    elif "description" in el.attrib:
        del el.attrib["description"]
    _patch_nv(ctx, el, "instance_attributes", want["params"], hidden=hidden)
    keep = [k for k in RUNTIME_META if k not in want["meta"]]
    _patch_nv(ctx, el, "meta_attributes", want["meta"], keep=keep)
    _patch_nv(ctx, el, "utilization", want["utilization"])
    ops_el = el.find("operations")
    current = {}
    if ops_el is not None:
        for op in ops_el.findall("op"):
            current[_op_key(_norm_op(op))] = op
    for key, d in want["ops"].items():
        if key in current:
            op = current.pop(key)
            have = _norm_op(op)
            if _same(have, d):
                continue
            for k in OP_ATTRS:
                if d.get(k) is None:
                    op.attrib.pop(k, None)
                elif not _same(have.get(k), d[k], k):
                    op.set(k, _role_out(d[k], ctx.root) if k == "role" else d[k])
            for k, tag in (("params", "instance_attributes"), ("meta", "meta_attributes")):
                _patch_nv(ctx, op, tag, d.get(k) or {})
        else:
            if ops_el is None:
                ops_el = ET.SubElement(el, "operations")
            ops_el.append(_op_element(ctx, el.get("id"), d, ctx.root))
    for key, op in current.items():
        ops_el.remove(op)
    if ops_el is not None and len(ops_el) == 0 and not ops_el.attrib:
        el.remove(ops_el)


def _container_of(ctx, el):
    pm = ctx.parent_map()
    return pm.get(el)


def _move_to_top(ctx, el, after=None):
    res = ctx.section("resources")
    parent = _container_of(ctx, el)
    if parent is res:
        return
    if parent is not None:
        parent.remove(el)
    children = list(res)
    if after is not None and after in children:
        res.insert(children.index(after) + 1, el)
    else:
        res.append(el)


def _apply_primitive(ctx, name, want, hidden):
    el = ctx.resource(name)
    if el is not None and el.tag != "primitive":
        raise CommandExecutionError(f"{name} exists but is a {el.tag}, not a primitive")
    _check_free_id(ctx, name, el)
    cur = _norm(el) if el is not None else None
    if cur is not None:
        cur["meta"] = {k: v for k, v in cur["meta"].items()
                       if k in want["meta"] or k not in RUNTIME_META}
    changes = _diff(cur, want, hidden)
    if not changes:
        return {}
    if el is None:
        el = ET.SubElement(ctx.section("resources"), "primitive", {"id": name})
        ctx.ids.add(name)
    _patch_primitive(ctx, el, want, cur, hidden)
    return changes


def _check_free_id(ctx, name, el):
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", name):
        raise CommandExecutionError(
            f"id {name!r} is not a valid XML ID (letters, digits, '_', '-', '.'; "
            "not starting with a digit)")
    other = ctx.find_id(name)
    if other is not None and other is not el:
        raise CommandExecutionError(f"id {name!r} is already used by a <{other.tag}> element")


def _apply_clone(ctx, name, want, hidden):
    el = ctx.resource(name)
    if el is not None and el.tag not in ("clone", "master"):
        raise CommandExecutionError(f"{name} exists but is a {el.tag}, not a clone")
    _check_free_id(ctx, name, el)
    child = ctx.resource(want["resource"])
    if child is None or child.tag not in ("primitive", "group"):
        raise CommandExecutionError(
            f"clone {name}: resource {want['resource']!r} does not exist as a primitive or "
            "group; declare it first (crm.resource_present / crm.group_present)")
    parent = _container_of(ctx, child)
    if parent is not el and parent.tag != "resources":
        raise CommandExecutionError(
            f"clone {name}: {want['resource']} is already inside {parent.tag} {parent.get('id')}")
    cur = _norm(el) if el is not None else None
    if cur is not None:
        cur["meta"] = {k: v for k, v in cur["meta"].items()
                       if k in want["meta"] or k not in RUNTIME_META}
    changes = _diff(cur, want, hidden)
    if not changes:
        return {}
    res = ctx.section("resources")
    if el is None:
        kids = list(res)
        el = ET.Element("clone", {"id": name})
        ctx.ids.add(name)
        res.insert(kids.index(child) if child in kids else len(kids), el)
    elif el.tag == "master":
        el.tag = "clone"  # Pacemaker 2 spelling: <clone> + meta promotable=true
        ctx.notes.append(f"{name}: converted deprecated <master> to promotable <clone>")
    for old in [c for c in el if c.tag in ("primitive", "group") and c is not child]:
        _move_to_top(ctx, old, after=el)
    if _container_of(ctx, child) is not el:
        _container_of(ctx, child).remove(child)
        el.append(child)
    meta = dict(want["meta"])
    if want["promotable"]:
        meta["promotable"] = "true"
    keep = [k for k in RUNTIME_META if k not in meta]
    _patch_nv(ctx, el, "meta_attributes", meta, keep=keep, alias=True)
    return changes


def _apply_group(ctx, name, want, hidden):
    el = ctx.resource(name)
    if el is not None and el.tag != "group":
        raise CommandExecutionError(f"{name} exists but is a {el.tag}, not a group")
    _check_free_id(ctx, name, el)
    res = ctx.section("resources")
    members = []
    missing = []
    for m in want["members"]:
        p = ctx.resource(m)
        if p is None:
            missing.append(m)
            continue
        if p.tag != "primitive":
            raise CommandExecutionError(f"group {name}: member {m} is a {p.tag}; only primitives")
        parent = _container_of(ctx, p)
        if parent is not el and parent is not res:
            raise CommandExecutionError(
                f"group {name}: member {m} is already inside {parent.tag} {parent.get('id')}")
        members.append(p)
    if missing:
        raise CommandExecutionError(
            f"group {name}: member(s) {', '.join(missing)} do not exist; declare them with "
            "crm.resource_present first (nothing was changed)")
    cur = _norm(el) if el is not None else None
    if cur is not None:
        cur["meta"] = {k: v for k, v in cur["meta"].items()
                       if k in want["meta"] or k not in RUNTIME_META}
    changes = _diff(cur, want, hidden)
    if not changes:
        return {}
    if el is None:
        first = members[0]
        kids = list(res)
        el = ET.Element("group", {"id": name})
        ctx.ids.add(name)
        res.insert(kids.index(first) if first in kids else len(kids), el)
    if cur is None or not _same(cur["members"], want["members"]):
        old_members = el.findall("primitive")
        for p in old_members:
            el.remove(p)
        for p in members:
            parent = _container_of(ctx, p)
            if parent is not None:
                parent.remove(p)
            el.append(p)
        for p in old_members:
            if p not in members:
                res.insert(list(res).index(el) + 1, p)
                ctx.notes.append(f"{p.get('id')} left group {name} and stays as a primitive")
    keep = [k for k in RUNTIME_META if k not in want["meta"]]
    _patch_nv(ctx, el, "meta_attributes", want["meta"], keep=keep)
    return changes


def _constraint_refs(d):
    refs = []
    for k in ("rsc", "with-rsc", "first", "then"):
        if d.get(k):
            refs.append(d[k])
    for s in d.get("sets") or []:
        refs.extend(s["resources"])
    return refs


def _build_sets(ctx, el, name, sets):
    for i, s in enumerate(sets):
        attrs = {"id": ctx.new_id(f"{name}-{i}")}
        for k, v in s.items():
            if k == "resources":
                continue
            attrs[k] = _role_out(v, ctx.root) if k == "role" else v
        se = ET.SubElement(el, "resource_set", attrs)
        for r in s["resources"]:
            ET.SubElement(se, "resource_ref", {"id": r})


def _build_rules(ctx, el, name, rules):
    for i, r in enumerate(rules):
        attrs = {"id": ctx.new_id(f"{name}-rule" + (f"-{i}" if i else ""))}
        for k, v in r.items():
            if k != "expressions":
                attrs[k] = _role_out(v, ctx.root) if k == "role" else v
        re_ = ET.SubElement(el, "rule", attrs)
        for j, e in enumerate(r["expressions"]):
            e = dict(e)
            tag = e.pop("tag", "expression")
            ET.SubElement(re_, tag, {"id": ctx.new_id(f"{attrs['id']}-expr" + (f"-{j}" if j else "")),
                                     **e})


def _apply_constraint(ctx, name, want, hidden):
    tag = want["type"]
    cons = ctx.section("constraints")
    el = None
    for c in cons:
        if c.get("id") == name:
            el = c
    if el is not None and el.tag != tag:
        raise CommandExecutionError(f"constraint {name} exists but is a {el.tag}, not a {tag}")
    _check_free_id(ctx, name, el)
    known = ctx.resource_ids()
    unknown = [r for r in _constraint_refs(want) if r not in known]
    if unknown:
        raise CommandExecutionError(
            f"{tag} {name} references unknown resource(s): {', '.join(sorted(set(unknown)))}")
    cur = _norm(el) if el is not None else None
    changes = _diff(cur, want, hidden)
    if not changes:
        return {}
    if el is None:
        el = ET.SubElement(cons, tag, {"id": name})
        ctx.ids.add(name)
    scalar = {k: v for k, v in want.items() if k not in ("type", "sets", "rules")}
    if tag == "rsc_order":
        el.attrib.pop("score", None)
    for k in list(el.attrib):
        if k != "id" and k not in scalar:
            del el.attrib[k]
    for k, v in scalar.items():
        if cur is None or not _same(cur.get(k), v, k) or el.get(k) is None:
            el.set(k, _role_out(v, ctx.root) if k in ROLE_KEYS else v)
    cv, wv = _compare_view(cur or {}), _compare_view(want)
    if not _same(cv.get("sets"), wv.get("sets")):
        for s in el.findall("resource_set"):
            el.remove(s)
        _build_sets(ctx, el, name, want.get("sets") or [])
    if not _same(cv.get("rules"), wv.get("rules")):
        for r in el.findall("rule"):
            el.remove(r)
        _build_rules(ctx, el, name, want.get("rules") or [])
    return changes


def _apply_property(ctx, section, properties, set_id=None):
    if section not in SECTIONS:
        raise CommandExecutionError(
            f"property section {section!r}; allowed: {', '.join(SECTIONS)}")
    tag, default_id = SECTIONS[section]
    sec = ctx.conf.find(section)
    cur = {}
    if sec is not None:
        for s in _nvsets(sec, tag):
            for nv in s.findall("nvpair"):
                cur.setdefault(nv.get("name"), (s, nv))
    changes = {}
    for k, v in properties.items():
        have = cur[k][1].get("value") if k in cur else None
        if v is None:
            if k in cur:
                changes[k] = {"old": HIDDEN if _is_secret(k) else have, "new": None}
        elif have is None or not _same(have, v, k):
            if _is_secret(k):
                changes[k] = {"old": HIDDEN if have is not None else None, "new": HIDDEN}
            else:
                changes[k] = {"old": have, "new": v}
    if not changes:
        return {}
    sec = ctx.section(section)
    target = None
    sets = _nvsets(sec, tag)
    if set_id:
        target = next((s for s in sets if s.get("id") == set_id), None)
    if target is None and sets and not set_id:
        target = next((s for s in sets if s.get("id") == default_id), sets[0])
    if target is None:
        target = ET.SubElement(sec, tag, {"id": ctx.new_id(set_id or default_id)})
    emptied = []
    for k in changes:
        v = properties[k]
        if k in cur:
            s, nv = cur[k]
            if v is None:
                s.remove(nv)
                emptied.append(s)
            else:
                nv.set("value", v)
        elif v is not None:
            ET.SubElement(target, "nvpair", {
                "id": ctx.new_id(f"{target.get('id')}-{k}"), "name": k, "value": v})
    for s in emptied:
        if len(s) == 0 and s in list(sec):
            sec.remove(s)
    return changes


def _remove_resource(ctx, name, recursive=None):
    el = ctx.resource(name)
    if el is None:
        return {}
    res = ctx.section("resources")
    pm = ctx.parent_map()
    changes = {}
    # containers left without a child go as well (a group/clone cannot be empty)
    victim = el
    parent = pm.get(victim)
    while parent is not None and parent is not res:
        if parent.tag == "group" and len(parent.findall("primitive")) > 1:
            break
        victim = parent
        parent = pm.get(victim)
    removed = {victim.get("id")}
    changes[victim.get("id")] = {"old": _mask(_norm(victim), None), "new": None}
    if recursive is None:
        # a clone's child makes no sense alone (a drbd primitive would run unpromoted on
        # one node); a group's members are kept, like crmsh's "delete group"
        recursive = victim.tag != "group"
    if victim.tag == "group" and victim is el and not recursive:
        for child in [c for c in el if c.tag in ("primitive", "group")]:
            _move_to_top(ctx, child, after=el)
            ctx.notes.append(f"{child.get('id')} kept as a top-level resource")
    else:
        for d in victim.iter():
            if d.tag in RESOURCE_TAGS and d is not victim:
                removed.add(d.get("id"))
                changes[d.get("id")] = {"old": _mask(_norm(d), None), "new": None}
    pm = ctx.parent_map()
    pm[victim].remove(victim)
    changes.update(_prune_constraints(ctx, removed))
    return changes


def _prune_constraints(ctx, removed):
    """Remove references to removed resources; drop constraints left meaningless."""
    cons = ctx.section("constraints")
    changes = {}
    for c in list(cons):
        before = _norm(c)
        direct = [k for k in ("rsc", "with-rsc", "first", "then") if c.get(k) in removed]
        if direct:
            cons.remove(c)
            changes[c.get("id")] = {"old": before, "new": None}
            continue
        touched = False
        for s in c.findall("resource_set"):
            for r in s.findall("resource_ref"):
                if r.get("id") in removed:
                    s.remove(r)
                    touched = True
            if len(s.findall("resource_ref")) == 0:
                c.remove(s)
        if not touched:
            continue
        left = sum(len(s.findall("resource_ref")) for s in c.findall("resource_set"))
        need = 2 if c.tag in ("rsc_colocation", "rsc_order") else 1
        if left < need:
            cons.remove(c)
            changes[c.get("id")] = {"old": before, "new": None}
        else:
            changes[c.get("id")] = {"old": before, "new": _norm(c)}
    return changes


# --------------------------------------------------------------------------------------
# verify + write
# --------------------------------------------------------------------------------------
def _parse_verify(ret, secrets=()):
    text = _scrub("\n".join(x for x in (ret.get("stdout"), ret.get("stderr")) if x), secrets)
    errors, warnings = [], []
    for line in text.splitlines():
        msg = re.sub(r"^\s*\([^)]*\)\s*", "", line).strip()
        if re.match(r"^(error|crit|critical)\s*:", msg, re.I):
            errors.append(re.sub(r"^\w+\s*:\s*", "", msg))
        elif re.match(r"^warning\s*:", msg, re.I):
            warnings.append(re.sub(r"^\w+\s*:\s*", "", msg))
    return {
        "valid": ret.get("retcode") == 0,
        "retcode": ret.get("retcode"),
        "errors": errors,
        "warnings": warnings,
        "output": text.strip(),
    }


def _verify_tree(root, secrets=(), timeout=DEFAULT_TIMEOUT):
    tmpdir = tempfile.mkdtemp(prefix="crm-verify-")
    try:
        path = os.path.join(tmpdir, "cib.xml")
        _write_xml(root, path)
        ret = _run(["crm_verify", "-V", "--xml-file", path], timeout=timeout, secrets=secrets)
        return _parse_verify(ret, secrets)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _write_xml(el, path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(ET.tostring(el))


def _changed_sections(old_root, new_root):
    old_conf, new_conf = old_root.find("configuration"), new_root.find("configuration")
    names = [c.tag for c in new_conf] + [c.tag for c in old_conf]
    changed = []
    for n in dict.fromkeys(names):
        a, b = old_conf.find(n), new_conf.find(n)
        sa = ET.tostring(a) if a is not None else None
        sb = ET.tostring(b) if b is not None else None
        if sa != sb:
            changed.append((n, a is not None, b is not None))
    return changed


def _commit(old_root, new_root, cib=None, secrets=(), timeout=DEFAULT_TIMEOUT):
    """Verify the whole new CIB, then ONE cibadmin --replace of the covering section."""
    notes = []
    changed = _changed_sections(old_root, new_root)
    if not changed:
        return notes
    check = _verify_tree(new_root, secrets, timeout)
    if not check["valid"]:
        before = _verify_tree(old_root, secrets, timeout)
        new_errors = [e for e in check["errors"] if e not in before["errors"]]
        if new_errors or not check["errors"]:
            detail = "; ".join(new_errors) or check["output"]
            raise CommandExecutionError(
                f"crm_verify rejects the new configuration, nothing written: {detail}")
        notes.append("configuration still has errors it had before: "
                     + "; ".join(check["errors"]))
    if len(changed) == 1 and changed[0][1] and changed[0][2]:
        scope = changed[0][0]
    else:
        scope = "configuration"
    section = new_root.find("configuration") if scope == "configuration" \
        else new_root.find("configuration").find(scope)
    tmpdir = tempfile.mkdtemp(prefix="crm-write-")
    try:
        path = os.path.join(tmpdir, f"{scope}.xml")
        _write_xml(section, path)
        ret = _run(["cibadmin", "--replace", "--scope", scope, "--xml-file", path,
                    "--timeout", str(max(1, int(timeout)))],
                   cib=cib, timeout=timeout + 5, secrets=secrets)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        _invalidate(cib)
    if ret["retcode"] != 0:
        raise _cluster_down(ret, cib, f"cibadmin --replace --scope {scope}")
    return notes


def _run_plan(editor, cib=None, test=False, secrets=(), timeout=DEFAULT_TIMEOUT):
    root = _read(cib, timeout=timeout)
    new = copy.deepcopy(root)
    ctx = _Ctx(new)
    changes = editor(ctx)
    out = {"changes": changes, "written": False, "notes": list(ctx.notes)}
    if not changes or test:
        return out
    out["notes"] += _commit(root, new, cib=cib, secrets=secrets, timeout=timeout)
    out["written"] = True
    return out


# --------------------------------------------------------------------------------------
# resource agents: does this node have the agent, and which instance parameters does it take
# --------------------------------------------------------------------------------------
AGENT_CTX = "crm.agents"
# read by ocf-shellfuncs for every OCF agent (tracing), declared by few agents' metadata
OCF_COMMON_PARAMS = ("trace_ra", "trace_file")
# pacemaker-fenced's own metadata (the fencer's device parameters, pcmk_host_list...)
FENCED_PATHS = ("/usr/lib/pacemaker/pacemaker-fenced", "/usr/libexec/pacemaker/pacemaker-fenced")
# the fencer supplies the victim to the agent itself (pcmk_host_argument, default port/plug)
STONITH_SUPPLIED = ("action", "port", "plug", "nodename")
SYSTEMD_SUFFIXES = (".service", ".socket", ".mount", ".timer", ".path")
_UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]+$")
_TRUE_ATTR = ("1", "true", "yes")


def _agent_store():
    return __context__.setdefault(AGENT_CTX, {})


def _parse_metadata(xml_text, agent):
    """``<resource-agent>`` metadata -> {"params": {name: {required, deprecated, obsoletes}}}."""
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


def _fencer_params():
    """The fencer's device parameters (pcmk_host_list, pcmk_delay_max...): one
    ``pacemaker-fenced metadata`` per run; None when the daemon binary is not found (then
    any ``pcmk_*`` name is accepted)."""
    store = _agent_store()
    if "__fenced__" in store:
        return store["__fenced__"]
    names = None
    path = _fenced_binary()
    if path:
        ret = _run([path, "metadata"])
        if ret["retcode"] == 0:
            names = set(_parse_metadata(ret["stdout"], "pacemaker-fenced")["params"])
    store["__fenced__"] = names
    return names


def _fenced_binary():
    for path in FENCED_PATHS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _systemd_unit(typ):
    return typ if typ.endswith(SYSTEMD_SUFFIXES) else f"{typ}.service"


def _systemd_agent(agent, typ):
    """A systemd: agent exists when systemd knows its unit file. Pacemaker's systemd metadata
    is generated for ANY name (no parameters), so it cannot tell; ``systemctl list-unit-files
    --output=json`` can (it asks the running systemd, or reads the unit directories when
    systemd is not PID 1). A template instance ``foo@bar`` needs ``foo@.service``."""
    unit = _systemd_unit(typ)
    if not _UNIT_NAME.match(unit):
        return {"error": f"{unit!r} is not a valid systemd unit name"}
    names = [unit]
    if "@" in unit:
        base, _, rest = unit.partition("@")
        names.append(f"{base}@{rest[rest.rfind('.'):]}")
    if not salt.utils.path.which("systemctl"):
        return {"error": "systemctl is not on PATH: this node cannot run systemd: resources"}
    ret = _run(["systemctl", "list-unit-files", "--output=json", "--no-pager", "--"] + names)
    try:
        found = {u.get("unit_file"): u.get("state") for u in json.loads(ret["stdout"] or "[]")}
    except (ValueError, AttributeError, TypeError):
        err = (ret.get("stderr") or ret.get("stdout") or "").strip().splitlines()
        return {"error": "systemctl list-unit-files gave no JSON: "
                         + (err[0] if err else f"rc={ret.get('retcode')}")}
    for n in names:
        if n in found:
            if found[n] in ("masked", "masked-runtime", "bad"):
                return {"error": f"unit {n} is {found[n]}: systemd will not start it"}
            return {"params": {}}
    return {"error": f"no unit file {unit} on this node (package not installed?)"}


def agent_metadata(agent, stonith=False):
    """
    What this node knows of a resource agent, cached per agent for the run:
    ``{"agent": "ocf:heartbeat:IPaddr2", "params": {name: {required, deprecated, obsoletes,
    replaced_with}}}``, or ``{"agent": ..., "error": "why it cannot run here"}``.
    One ``crm_resource --show-metadata`` per agent (``systemctl list-unit-files`` for
    ``systemd:`` agents, whose Pacemaker metadata exists for any name).

    CLI Example:

    .. code-block:: bash

        salt '*' crm.agent_metadata ocf:heartbeat:IPaddr2
    """
    cls, provider, typ = _parse_agent(agent, stonith=stonith)
    full = f"{cls}:{provider}:{typ}" if provider else f"{cls}:{typ}"
    store = _agent_store()
    if full in store:
        return store[full]
    if cls == "systemd":
        info = _systemd_agent(full, typ)
    elif not salt.utils.path.which("crm_resource"):
        info = {"error": "crm_resource (pacemaker-cli-utils) is not on PATH"}
    else:
        ret = _run(["crm_resource", "--show-metadata", full])
        if ret["retcode"] != 0:
            err = [ln for ln in (ret.get("stderr") or "").strip().splitlines() if ln.strip()]
            why = err[0].split(" failed: ", 1)[-1] if err else f"rc={ret['retcode']}"
            info = {"error": f"not available on this node (crm_resource --show-metadata: {why})"}
        else:
            info = _parse_metadata(ret["stdout"], full)
    info = dict(info, agent=full)
    store[full] = info
    return info


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


def check_resource_agent(kind, name, agent, params=None, undeclared_params=None, stonith=False):
    """
    Refuse (CommandExecutionError) a primitive this node cannot run: the agent is not
    installed, a param is not declared by the agent's metadata (nor one of the names every
    agent of its class takes: ``trace_ra``/``trace_file`` for OCF, the fencer's ``pcmk_*``
    for stonith, nothing for systemd/lsb), or a ``required`` param is missing (an obsolete
    spelling counts for its replacement; the fencer supplies stonith's ``port``/``plug``).
    ``undeclared_params``: names the agent reads although its metadata does not declare
    them. Returns notes (deprecated spellings in use). Names only, never values.
    """
    label = f"{kind} {name}"
    info = agent_metadata(agent, stonith=stonith)
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
    given = [str(p) for p in (params or {})]
    fencer = None
    if cls == "stonith":
        fencer = _fencer_params()
        if fencer is not None:
            allowed |= fencer
    unknown = sorted(p for p in given
                     if p not in allowed and not (cls == "stonith" and fencer is None
                                                  and p.startswith("pcmk_")))
    eq = _equivalents(declared)
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
    if problems:
        raise CommandExecutionError(f"{label}: agent {full}: " + "; ".join(problems)
                                    + " (undeclared_params lists names an agent reads "
                                      "without declaring them)" * bool(unknown))
    notes = []
    for p in given:
        d = declared.get(p)
        if d and d["deprecated"]:
            new = sorted(eq.get(p, {p}) - {p})
            notes.append(f"agent {full}: parameter {p} is deprecated"
                         + (f", use {', '.join(new)}" if new else ""))
    return notes


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------
def _desired(what, spec):
    kind = {"resource": "primitive", "stonith": "primitive", "ms": "clone",
            "colocation": "rsc_colocation", "order": "rsc_order",
            "location": "rsc_location"}.get(what, what)
    if kind == "primitive":
        return _desired_primitive(spec, stonith=spec.get("_stonith", False))
    if kind == "clone":
        return _desired_clone(spec)
    if kind == "group":
        return _desired_group(spec)
    if kind == "rsc_colocation":
        return _desired_colocation(spec)
    if kind == "rsc_order":
        return _desired_order(spec)
    if kind == "rsc_location":
        return _desired_location(spec)
    raise CommandExecutionError(
        f"unknown kind {kind!r}; allowed: primitive, stonith, clone, group, colocation, order, "
        "location")


_APPLY = {
    "primitive": _apply_primitive,
    "clone": _apply_clone,
    "group": _apply_group,
    "rsc_colocation": _apply_constraint,
    "rsc_order": _apply_constraint,
    "rsc_location": _apply_constraint,
}


def _clean_spec(spec):
    return {k: v for k, v in spec.items() if not k.startswith("__")}


def apply(what, name, cib=None, test=False, hidden_params=None, timeout=DEFAULT_TIMEOUT,
          check_agent=True, undeclared_params=None, **spec):
    """
    Make one object match ``spec`` (plain data); returns
    ``{"changes": {...}, "written": bool, "notes": [...]}``. ``test=True`` computes the diff only.

    what: primitive (alias resource), stonith, clone (alias ms), group, colocation, order,
    location. The spec keys are the state function arguments.

    Primitives and stonith devices are first checked against this node's resource agent
    (``check_agent``, see ``check_resource_agent``; ``undeclared_params`` passed through): refused
    before the CIB is read, with ``test=True`` too. ``check_agent=False`` skips it (an offline
    CIB built on a host that is not a cluster node).

    CLI Example:

    .. code-block:: bash

        salt '*' crm.apply primitive lan_ip agent=ocf:heartbeat:IPaddr2 \
            params='{ip: 10.0.0.1, nic: eth2}' cib=/tmp/cib.xml test=True
    """
    spec = _clean_spec(spec)
    if what == "stonith":
        spec["_stonith"] = True
    want = _desired(what, spec)
    notes = []
    if want["type"] == "primitive" and check_agent:
        stonith = want["agent"].startswith("stonith:")
        notes = check_resource_agent(
            "stonith device" if stonith else "resource", name, want["agent"],
            params=want["params"], undeclared_params=undeclared_params, stonith=stonith)
    hidden = list(hidden_params or [])
    secrets = _secret_values(want, hidden=hidden)
    editor = _APPLY[want["type"]]
    out = _run_plan(lambda ctx: editor(ctx, str(name), want, hidden), cib=cib, test=test,
                    secrets=secrets, timeout=timeout)
    out["notes"] = notes + out["notes"]
    return out


def diff(what, name, cib=None, hidden_params=None, timeout=DEFAULT_TIMEOUT, **spec):
    """``apply`` with ``test=True``: the changes that would be made, nothing written."""
    return apply(what, name, cib=cib, test=True, hidden_params=hidden_params, timeout=timeout,
                 **spec)["changes"]


def build(what, name, cib=None, hidden_params=None, **spec):
    """
    The XML that ``apply`` would store for a NEW object (ids generated), built in memory
    against an empty CIB, or against ``cib`` (schema spelling, free ids) when given: then one
    read, nothing written. Secrets are masked. Supports primitive/stonith and constraints.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.build primitive fs_one agent=ocf:heartbeat:Filesystem \
            params='{device: /dev/drbd1, directory: /srv/cloud/one, fstype: ext4}'
    """
    spec = _clean_spec(spec)
    if what == "stonith":
        spec["_stonith"] = True
    want = _desired(what, spec)
    root = ET.fromstring(
        '<cib validate-with="pacemaker-3.9"><configuration><crm_config/><nodes/><resources/>'
        "<constraints/></configuration><status/></cib>")
    if cib:
        live = _read(cib)
        root.set("validate-with", live.get("validate-with", ""))
    ctx = _Ctx(root)
    if cib:
        ctx.ids |= {e.get("id") for e in live.iter() if e.get("id")}
    if want["type"] == "primitive":
        el = ET.SubElement(ctx.section("resources"), "primitive", {"id": str(name)})
        _patch_primitive(ctx, el, want, None, hidden_params)
        for nv in el.iter("nvpair"):
            if _is_secret(nv.get("name"), hidden_params):
                nv.set("value", HIDDEN)
    elif want["type"] in CONSTRAINT_TAGS:
        for r in _constraint_refs(want):
            ET.SubElement(ctx.section("resources"), "primitive", {"id": r})
        _apply_constraint(ctx, str(name), want, hidden_params)
        el = ctx.section("constraints").find(f"*[@id='{name}']")
    else:
        raise CommandExecutionError("build supports primitive, stonith and constraints")
    ET.indent(el)
    return ET.tostring(el, encoding="unicode")


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
    name = str(name)

    def editor(ctx):
        if kind == "constraint":
            cons = ctx.section("constraints")
            for c in list(cons):
                if c.get("id") == name:
                    cons.remove(c)
                    return {name: {"old": _norm(c), "new": None}}
            return {}
        if kind != "resource":
            raise CommandExecutionError(f"remove: kind {kind!r}; allowed: resource, constraint")
        return _remove_resource(ctx, name, recursive=recursive)

    return _run_plan(editor, cib=cib, test=test, timeout=timeout)


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
    props = {str(k): _s(v) for k, v in properties.items()}
    secrets = {v for k, v in props.items() if v and _is_secret(k)}
    return _run_plan(lambda ctx: _apply_property(ctx, section, props, set_id), cib=cib,
                     test=test, secrets=secrets, timeout=timeout)


def get(name, cib=None, hidden_params=None, timeout=DEFAULT_TIMEOUT):
    """
    One resource or constraint as normalised plain data (secrets masked), or None.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.get ms_drbd_one
    """
    root = _read(cib, timeout=timeout)
    ctx = _Ctx(root)
    el = ctx.resource(str(name))
    if el is None:
        el = next((c for c in ctx.section("constraints", create=False) or [] if
                   c.get("id") == str(name)), None)
    return _mask(_norm(el), hidden_params) if el is not None else None


def properties(section="crm_config", cib=None, timeout=DEFAULT_TIMEOUT):
    """Rule-less properties of ``crm_config``/``rsc_defaults``/``op_defaults`` as a dict."""
    if section not in SECTIONS:
        raise CommandExecutionError(f"section {section!r}; allowed: {', '.join(SECTIONS)}")
    root = _read(cib, timeout=timeout)
    sec = root.find("configuration").find(section)
    if sec is None:
        return {}
    out = _read_nv(sec, SECTIONS[section][0])
    return {k: (HIDDEN if _is_secret(k) else v) for k, v in out.items()}


# --------------------------------------------------------------------------------------
# staging: build a whole graph on a copy, write it to the cluster with one patch
# --------------------------------------------------------------------------------------
STAGE_ORIG = "orig.xml"
STAGE_NEW = "staged.xml"
_ID_IN_PATH = re.compile(r"\[@id='([^']+)'\]")


def _stage_paths(directory):
    return os.path.join(directory, STAGE_ORIG), os.path.join(directory, STAGE_NEW)


def stage(directory, cib=None, timeout=DEFAULT_TIMEOUT):
    """
    Copy the CIB (the live cluster's, or the file ``cib``) into ``directory`` twice:
    ``orig.xml`` (the snapshot) and ``staged.xml`` (the copy states edit with
    ``cib=<directory>/staged.xml``); then ``crm.push`` writes the difference between the two
    to the cluster with ONE ``cibadmin --patch`` (pcs' ``cib-push diff-against``, the
    ha_cluster role's shadow-CIB path). Pacemaker thus never acts on a half-built graph
    (a VIP or a service started on its own before its group and constraints exist).
    The files hold the whole CIB, fence passwords included: directory 0700, files 0600.
    Returns ``{"orig", "staged", "epoch"}``.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.stage /run/opennebula-ha-formula/cib
    """
    root = _read(cib, timeout=timeout)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    orig, new = _stage_paths(directory)
    for path in (orig, new):
        _write_xml(root, path)
    _invalidate(new)
    epoch = ".".join(root.get(a, "0") for a in ("admin_epoch", "epoch", "num_updates"))
    return {"orig": orig, "staged": new, "epoch": epoch}


def _patch_summary(patch):
    """One line per change of a crm_diff v2 patch: operation + ids, never values."""
    out = []
    for ch in patch.iter("change"):
        op, path = ch.get("operation", "?"), ch.get("path", "")
        ids = _ID_IN_PATH.findall(path)
        where = "/".join(ids) or path
        if op == "create":
            kids = [f"{c.tag} {c.get('id', '')}".strip() for c in ch if c.tag != "change-list"]
            out.append(f"create {', '.join(kids)} in {where}")
        elif op == "modify":
            names = sorted({a.get("name", "") for a in ch.iter("change-attr")})
            out.append(f"modify {where} ({', '.join(n for n in names if n)})")
        else:
            out.append(f"{op} {where}")
    return out


def _patch_targets(patch):
    """(id, must_exist) per change: the element a create made, or the innermost id of the
    path a modify/move/delete touched."""
    targets = []
    for ch in patch.iter("change"):
        op = ch.get("operation")
        ids = _ID_IN_PATH.findall(ch.get("path", ""))
        if op == "create":
            made = [c.get("id") for c in ch if c.get("id")]
            targets += [(i, True) for i in made] or ([(ids[-1], True)] if ids else [])
        elif ids:
            targets.append((ids[-1], op != "delete"))
    return targets


def _tree_key(el):
    """An element and its subtree as comparable data (attribute order ignored)."""
    if el is None:
        return None
    return (el.tag, tuple(sorted(el.attrib.items())), tuple(_tree_key(c) for c in el))


def _by_id(root, ident):
    conf = root.find("configuration")
    return next((e for e in conf.iter() if e.get("id") == ident), None)


def push(directory, cib=None, test=False, timeout=DEFAULT_TIMEOUT):
    """
    Write what the states changed in ``<directory>/staged.xml`` since ``crm.stage`` took
    ``orig.xml`` to the cluster (or to the file ``cib``): ``crm_diff --no-version`` of the
    two, ``crm_verify`` of the staged CIB, ONE ``cibadmin --patch``, then a re-read that
    checks every element the patch touched is in the CIB as staged (elements Pacemaker or an
    operator changed meanwhile elsewhere are left alone). Returns ``{"changes": [summary
    lines, ids only], "written": bool}``; ``test=True`` reports without writing.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.push /run/opennebula-ha-formula/cib
    """
    orig, new = _stage_paths(directory)
    for path in (orig, new):
        if not os.path.isfile(path):
            raise CommandExecutionError(f"{path} does not exist: run crm.stage {directory} first")
    staged = ET.parse(new).getroot()
    secrets = [nv.get("value") for nv in staged.iter("nvpair") if _is_secret(nv.get("name", ""))]
    ret = _run(["crm_diff", "--no-version", "--original", orig, "--new", new],
               timeout=timeout, secrets=secrets)
    if ret["retcode"] == 0:
        return {"changes": [], "written": False}
    if ret["retcode"] != 1:
        raise CommandExecutionError(f"crm_diff failed (rc={ret['retcode']}): {ret['stderr'].strip()}")
    try:
        patch = ET.fromstring(ret["stdout"])
    except ET.ParseError as exc:
        raise CommandExecutionError(f"crm_diff returned unparsable XML: {exc}")
    summary = _patch_summary(patch)
    if test:
        return {"changes": summary, "written": False}
    check = _parse_verify(_run(["crm_verify", "-V", "--xml-file", new], timeout=timeout,
                               secrets=secrets), secrets)
    if not check["valid"] and check["errors"]:
        raise CommandExecutionError("crm_verify rejects the staged configuration, nothing written: "
                                    + "; ".join(check["errors"]))
    tmpdir = tempfile.mkdtemp(prefix="crm-patch-")
    try:
        path = os.path.join(tmpdir, "patch.xml")
        _write_xml(patch, path)
        ret = _run(["cibadmin", "--patch", "--xml-file", path, "--timeout", str(max(1, int(timeout)))],
                   cib=cib, timeout=timeout + 5, secrets=secrets)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        _invalidate(cib)
    if ret["retcode"] != 0:
        raise _cluster_down(ret, cib, "cibadmin --patch")
    live = _read(cib, timeout=timeout, refresh=True)
    off = [i for i, exists in dict(_patch_targets(patch)).items()
           if ((_tree_key(_by_id(live, i)) != _tree_key(_by_id(staged, i))) if exists
               else _by_id(live, i) is not None)]
    if off:
        raise CommandExecutionError(f"verification failed: after cibadmin --patch the CIB differs "
                                    f"from the staged one at {', '.join(sorted(off))}")
    return {"changes": summary, "written": True}


def query(cib=None, scope=None, refresh=False, show_secrets=False, timeout=DEFAULT_TIMEOUT):
    """
    The CIB (or one ``scope``: configuration, resources, constraints, crm_config, nodes,
    status...) as XML text. Secret nvpair values are masked unless ``show_secrets=True``.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.query scope=resources
        salt '*' crm.query cib=/srv/staging/cib.xml
    """
    root = _read(cib, timeout=timeout, refresh=refresh)
    el = root
    if scope:
        el = root if scope == "cib" else next(
            (e for e in root.iter(scope)), None)
        if el is None:
            return ""
    if not show_secrets:
        el = copy.deepcopy(el)
        for nv in el.iter("nvpair"):
            if _is_secret(nv.get("name", "")):
                nv.set("value", HIDDEN)
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
    ret = _run(argv, timeout=timeout)
    res = _parse_verify(ret)
    if not cib and not res["valid"] and not res["errors"] and any(
            m in res["output"] for m in NOT_RUNNING):
        raise _cluster_down(ret, None, "crm_verify")
    return res


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
        argv = ["crm", "configure", "show"] + ([str(name)] if name else [])
        ret = _run(argv, cib=cib, timeout=timeout)
        if ret["retcode"] == 0:
            out = ret["stdout"]
            return re.sub(r'((?:passw\w*|secret\w*|\w*key\w*)=)("[^"]*"|\S+)', r"\1<hidden>",
                          out, flags=re.I)
        if not cib:
            raise _cluster_down(ret, None, "crm configure show")
    if name:
        return str(get(name, cib=cib, timeout=timeout))
    return query(cib=cib, scope="configuration", timeout=timeout)


def wait_for_dc(timeout=60, interval=1, cib=None):
    """
    Wait (at most ``timeout`` seconds) until the live cluster has elected a DC; returns
    ``{"dc": node name or id, "have_quorum": bool, "waited": seconds}``. Raises
    "cluster not running" when no DC appears in time. With ``cib`` (offline file) it returns
    at once with what the file says.

    CLI Example:

    .. code-block:: bash

        salt '*' crm.wait_for_dc timeout=120
    """
    start = time.monotonic()
    if cib:
        root = _read(cib)
        return {"dc": root.get("dc-uuid"), "have_quorum": root.get("have-quorum") in TRUE,
                "waited": 0, "offline": True}
    deadline = start + float(timeout)
    last = "no answer"
    while True:
        left = max(1, int(deadline - time.monotonic()))
        per_call = min(5, left)
        try:
            ret = _run(["cibadmin", "--query", "--timeout", str(per_call)], timeout=per_call + 2)
            if ret["retcode"] == 0:
                root = ET.fromstring(ret["stdout"])
                dc = root.get("dc-uuid")
                if dc:
                    name = dc
                    for node in root.iter("node"):
                        if node.get("id") == dc:
                            name = node.get("uname", dc)
                    return {"dc": name, "have_quorum": root.get("have-quorum") in TRUE,
                            "waited": round(time.monotonic() - start, 1)}
                last = "no DC elected yet"
            else:
                last = (ret["stderr"] or ret["stdout"]).strip().splitlines()[0:1] or ["?"]
                last = last[0]
        except (CommandExecutionError, ET.ParseError) as exc:
            last = str(exc)
        if time.monotonic() + float(interval) > deadline:
            raise CommandExecutionError(
                f"cluster not running: no DC elected within {timeout}s ({last})")
        time.sleep(float(interval))


def from_crmsh(line, cib=None):
    """
    Translate one crmsh ``configure`` line (primitive, ms, clone, group, colocation, order,
    property) into the plain-data arguments of the matching ``crm`` state, e.g. to port
    an old how-to to SLS. Returns ``{"state": "crm.<fn>", "name": ..., **args}``. Pure
    parsing: ``cib`` is accepted like everywhere else but nothing is read.

    CLI Example:

    .. code-block:: bash

        salt-call crm.from_crmsh 'order ha_after_drbd inf: ms_drbd_one:promote ha_group:start'
    """
    import shlex

    toks = shlex.split(str(line))
    if not toks:
        raise CommandExecutionError("empty crmsh line")
    what = toks[0]

    def kv_block(items):
        out, sections, cur = {}, {"params": {}, "meta": {}, "utilization": {}}, None
        ops = []
        i = 0
        while i < len(items):
            t = items[i]
            if t in sections:
                cur = sections[t]
            elif t == "op":
                op = {"name": items[i + 1]}
                i += 2
                while i < len(items) and "=" in items[i]:
                    k, v = items[i].split("=", 1)
                    op[k] = v
                    i += 1
                ops.append(op)
                continue
            elif "=" in t and cur is not None:
                k, v = t.split("=", 1)
                cur[k] = v
            i += 1
        for k, v in sections.items():
            if v:
                out[k] = v
        if ops:
            out["ops"] = ops
        return out

    if what == "primitive":
        args = {"state": "crm.resource_present", "name": toks[1], "agent": toks[2]}
        if toks[2].startswith("stonith:"):
            args["state"] = "crm.stonith_present"
        args.update(kv_block(toks[3:]))
        return args
    if what in ("ms", "clone"):
        args = {"state": "crm.clone_present", "name": toks[1], "resource": toks[2]}
        args.update({k: v for k, v in kv_block(toks[3:]).items() if k == "meta"})
        if what == "ms" or (args.get("meta") or {}).get("promotable") in TRUE:
            args["promotable"] = True
            (args.get("meta") or {}).pop("promotable", None)
        return args
    if what == "group":
        members = [t for t in toks[2:] if "=" not in t and t != "meta"]
        args = {"state": "crm.group_present", "name": toks[1], "members": members}
        args.update({k: v for k, v in kv_block(toks[2:]).items() if k == "meta"})
        return args
    if what in ("colocation", "collocation", "order"):
        score = toks[2].rstrip(":")
        args = {"state": "crm.colocation_present" if what != "order" else "crm.order_present",
                "name": toks[1], "resources": toks[3:]}
        if what == "order":
            kind = {"inf": "Mandatory", "mandatory": "Mandatory", "0": "Optional",
                    "optional": "Optional", "serialize": "Serialize"}.get(score.lower())
            args["kind"] = kind or "Mandatory"
        else:
            args["score"] = _score(score)
        return args
    if what in ("property", "rsc_defaults", "op_defaults"):
        props = dict(t.split("=", 1) for t in toks[1:] if "=" in t)
        section = "crm_config" if what == "property" else what
        return {"state": "crm.property_present", "name": section, "properties": props,
                "section": section}
    raise CommandExecutionError(
        f"from_crmsh: {what!r} not supported; allowed: primitive, ms, clone, group, "
        "colocation, order, property, rsc_defaults, op_defaults")
