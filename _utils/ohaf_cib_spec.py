"""Desired Pacemaker objects (``__utils__["ohaf_cib_spec.*"]``): the plain data of a crm
state's arguments (YAML-friendly dicts/lists/strings) -> the normalised form of
``ohaf_cib.norm``, checked (agent spelling, roles, op attributes, kinds), so that the two
compare with ``ohaf_cib.diff``.

    >>> desired("order", {"resources": ["a:promote", "b:start"]})["first-action"]
    'promote'
"""
import os
import sys

from salt.exceptions import CommandExecutionError

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_cib  # noqa: E402  pylint: disable=wrong-import-position

AGENT_CLASSES = ("ocf", "lsb", "systemd", "service", "stonith", "upstart", "nagios", "heartbeat")
OP_ATTRS = (
    "name", "interval", "timeout", "role", "on-fail", "start-delay", "interval-origin",
    "record-pending", "enabled", "description",
)
KINDS = {"resource": "primitive", "stonith": "primitive", "ms": "clone",
         "colocation": "rsc_colocation", "order": "rsc_order", "location": "rsc_location"}


def op_attrs():
    """The attributes an ``<op>`` may carry (for ohaf_cib_edit)."""
    return OP_ATTRS


def parse_agent(agent, stonith=False):
    """``class:provider:type`` -> (class, provider or None, type); a bare ``Type`` is
    ``ocf:heartbeat:Type`` (``stonith:Type`` for a stonith device)."""
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


def agent_name(agent, stonith=False):
    """The full spelling of an agent (``IPaddr2`` -> ``ocf:heartbeat:IPaddr2``)."""
    cls, provider, typ = parse_agent(agent, stonith=stonith)
    return f"{cls}:{provider}:{typ}" if provider else f"{cls}:{typ}"


def _strdict(d, what):
    if d is None:
        return {}
    if not isinstance(d, dict):
        raise CommandExecutionError(f"{what} must be a mapping of name: value")
    text = ohaf_cib.as_text
    return {str(k): text(v) for k, v in d.items() if v is not None}


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


def _desired_op(op):
    d = {}
    text = ohaf_cib.as_text
    for k, v in op.items():
        if k in ("params", "meta"):
            d[k] = _strdict(v, f"op {k}")
        elif k == "role":
            ohaf_cib.valid_role(v, f"op {op.get('name')}")
            d[k] = text(v)
        elif k in OP_ATTRS:
            d[k] = text(v)
        else:
            raise CommandExecutionError(
                f"op {op.get('name')}: unknown attribute {k!r}; allowed: "
                f"{', '.join(OP_ATTRS + ('params', 'meta'))}")
    return d


def _desired_primitive(spec, stonith=False):
    agent = agent_name(spec.get("agent"), stonith=stonith)
    ops = {}
    for op in _ops_list(spec.get("ops")):
        d = _desired_op(op)
        key = ohaf_cib.op_key(d)
        if key in ops:
            raise CommandExecutionError(f"op {key} is declared twice")
        ops[key] = d
    d = {
        "type": "primitive",
        "agent": agent,
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
    meta = {ohaf_cib.meta_key(k): v for k, v in _strdict(spec.get("meta"), "meta").items()}
    promotable = spec.get("promotable")
    canon = ohaf_cib.canon
    if "promotable" in meta:
        mp = canon("promotable", meta.pop("promotable"))
        promotable = mp if promotable is None else promotable
    return {"type": "clone", "resource": str(spec["resource"]),
            "promotable": bool(canon("promotable", promotable or False)), "meta": meta}


def _desired_group(spec):
    members = spec.get("members")
    if not members or not isinstance(members, list):
        raise CommandExecutionError("group: 'members' must be a non-empty list of primitive ids")
    members = [str(m) for m in members]
    if len(set(members)) != len(members):
        raise CommandExecutionError(f"group: members {members} contain duplicates")
    return {"type": "group", "members": members, "meta": _strdict(spec.get("meta"), "meta")}


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


def _desired_sets(sets):
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
                d[k] = ohaf_cib.valid_role(v, "resource set")
            else:
                d[k] = ohaf_cib.as_text(v)
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
    valid_role = ohaf_cib.valid_role
    d = {"type": "rsc_colocation", "score": ohaf_cib.score(spec.get("score", "INFINITY"))}
    spec = _expand_resources(spec, "colocation",
                             ("rsc", "with_rsc", "rsc_role", "with_rsc_role"), "role")
    if spec.get("sets"):
        d["sets"] = _desired_sets(spec["sets"])
    elif spec.get("rsc") and spec.get("with_rsc"):
        d["rsc"] = str(spec["rsc"])
        d["with-rsc"] = str(spec["with_rsc"])
        if spec.get("rsc_role"):
            d["rsc-role"] = valid_role(spec["rsc_role"], "colocation rsc_role")
        if spec.get("with_rsc_role"):
            d["with-rsc-role"] = valid_role(spec["with_rsc_role"], "colocation with_rsc_role")
    else:
        raise CommandExecutionError("colocation: give rsc + with_rsc, resources or sets")
    if spec.get("node_attribute"):
        d["node-attribute"] = str(spec["node_attribute"])
    if spec.get("influence") is not None:
        d["influence"] = ohaf_cib.as_text(spec["influence"])
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
    spec = _expand_resources(spec, "order", ("first", "then", "first_action", "then_action"),
                             "action")
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
        d["symmetrical"] = ohaf_cib.as_text(spec["symmetrical"])
    return ohaf_cib.order_kind(d)


def _desired_rules(rules):
    text, score = ohaf_cib.as_text, ohaf_cib.score
    out = []
    for r in rules:
        r = dict(r)
        exprs = r.pop("expressions", None) or []
        rd = {k.replace("_", "-"): text(v) for k, v in r.items()}
        if "score" in rd:
            rd["score"] = score(rd["score"])
        if "role" in rd:
            rd["role"] = ohaf_cib.role(rd["role"])
        rd["expressions"] = [{k.replace("_", "-"): text(v) for k, v in e.items()} for e in exprs]
        if not rd["expressions"]:
            raise CommandExecutionError("location rule needs at least one expression")
        out.append(rd)
    return out


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
        d["role"] = ohaf_cib.valid_role(spec["role"], "location role")
    if spec.get("resource_discovery"):
        d["resource-discovery"] = str(spec["resource_discovery"])
    if spec.get("rules"):
        d["rules"] = _desired_rules(spec["rules"])
    elif spec.get("node") is not None and spec.get("score") is not None:
        d["node"] = str(spec["node"])
        d["score"] = ohaf_cib.score(spec["score"])
    else:
        raise CommandExecutionError("location: give node + score, or rules")
    return d


_BUILDERS = {
    "clone": _desired_clone,
    "group": _desired_group,
    "rsc_colocation": _desired_colocation,
    "rsc_order": _desired_order,
    "rsc_location": _desired_location,
}


def desired(what, spec):
    """The normalised object for ``what`` (primitive, alias resource; stonith; clone, alias
    ms; group; colocation; order; location) from a state's arguments ``spec``."""
    kind = KINDS.get(what, what)
    spec = {k: v for k, v in (spec or {}).items() if not str(k).startswith("_")}
    if kind == "primitive":
        return _desired_primitive(spec, stonith=what == "stonith")
    if kind in _BUILDERS:
        return _BUILDERS[kind](spec)
    raise CommandExecutionError(
        f"unknown kind {kind!r}; allowed: primitive, stonith, clone, group, colocation, order, "
        "location")
