"""crmsh ``configure`` lines -> the plain-data arguments of the matching ``crm`` state
(``__utils__["ohaf_crmsh.from_crmsh"]``), e.g. to port an old how-to to SLS. Pure parsing.

    >>> from_crmsh("order o inf: a:promote b:start")["kind"]
    'Mandatory'
"""
import shlex

import os
import sys

from salt.exceptions import CommandExecutionError

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_cib  # noqa: E402  pylint: disable=wrong-import-position

_SECTIONS = ("params", "meta", "utilization")
_ORDER_KINDS = {"inf": "Mandatory", "mandatory": "Mandatory", "0": "Optional",
                "optional": "Optional", "serialize": "Serialize"}


def _op(items, i):
    """The ``op <name> k=v...`` starting at ``items[i]``: (op dict, next index)."""
    op = {"name": items[i + 1]}
    i += 2
    while i < len(items) and "=" in items[i]:
        k, v = items[i].split("=", 1)
        op[k] = v
        i += 1
    return op, i


def _kv_block(items):
    """``params k=v ... meta k=v ... op name k=v ...`` -> {params, meta, utilization, ops}."""
    sections = {name: {} for name in _SECTIONS}
    cur, ops, i = None, [], 0
    while i < len(items):
        t = items[i]
        if t in sections:
            cur = sections[t]
        elif t == "op":
            op, i = _op(items, i)
            ops.append(op)
            continue
        elif "=" in t and cur is not None:
            k, v = t.split("=", 1)
            cur[k] = v
        i += 1
    out = {k: v for k, v in sections.items() if v}
    if ops:
        out["ops"] = ops
    return out


def _meta_only(items):
    return {k: v for k, v in _kv_block(items).items() if k == "meta"}


def _primitive(toks):
    args = {"state": "crm.resource_present", "name": toks[1], "agent": toks[2]}
    if toks[2].startswith("stonith:"):
        args["state"] = "crm.stonith_present"
    args.update(_kv_block(toks[3:]))
    return args


def _clone(toks):
    args = {"state": "crm.clone_present", "name": toks[1], "resource": toks[2]}
    args.update(_meta_only(toks[3:]))
    promotable = (args.get("meta") or {}).get("promotable")
    if toks[0] == "ms" or ohaf_cib.is_true(promotable):
        args["promotable"] = True
        (args.get("meta") or {}).pop("promotable", None)
    return args


def _group(toks):
    members = [t for t in toks[2:] if "=" not in t and t != "meta"]
    args = {"state": "crm.group_present", "name": toks[1], "members": members}
    args.update(_meta_only(toks[2:]))
    return args


def _constraint(toks):
    score = toks[2].rstrip(":")
    if toks[0] == "order":
        return {"state": "crm.order_present", "name": toks[1], "resources": toks[3:],
                "kind": _ORDER_KINDS.get(score.lower()) or "Mandatory"}
    return {"state": "crm.colocation_present", "name": toks[1], "resources": toks[3:],
            "score": ohaf_cib.score(score)}


def _property(toks):
    props = dict(t.split("=", 1) for t in toks[1:] if "=" in t)
    section = "crm_config" if toks[0] == "property" else toks[0]
    return {"state": "crm.property_present", "name": section, "properties": props,
            "section": section}


_PARSERS = {
    "primitive": _primitive, "ms": _clone, "clone": _clone, "group": _group,
    "colocation": _constraint, "collocation": _constraint, "order": _constraint,
    "property": _property, "rsc_defaults": _property, "op_defaults": _property,
}


def from_crmsh(line):
    """One crmsh ``configure`` line (primitive, ms, clone, group, colocation, order,
    property, rsc_defaults, op_defaults) -> ``{"state": "crm.<fn>", "name": ..., **args}``."""
    toks = shlex.split(str(line))
    if not toks:
        raise CommandExecutionError("empty crmsh line")
    parser = _PARSERS.get(toks[0])
    if parser is None:
        raise CommandExecutionError(
            f"from_crmsh: {toks[0]!r} not supported; allowed: primitive, ms, clone, group, "
            "colocation, order, property, rsc_defaults, op_defaults")
    return parser(toks)
