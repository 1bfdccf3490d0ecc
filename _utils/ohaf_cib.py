"""The Pacemaker CIB as plain data (``__utils__["ohaf_cib.*"]``): the vocabulary, the
canonical spelling of values, CIB elements -> normalised dicts, and the diff of two of them.

Pure functions on ``xml.etree`` elements and dicts: no command, no Salt dunder but
``__utils__`` (the secret rule of ``ohaf_secret``). The layers above:
``ohaf_cib_spec`` (desired plain data -> normalised), ``ohaf_cib_edit`` (in-memory edits of a
CIB copy), ``ohaf_cib_patch`` (crm_verify output, crm_diff patch summaries),
``ohaf_cib_agent`` (resource agent metadata), ``ohaf_crmsh`` (crmsh lines -> state args).

Comparison is normalised: generated ids, attribute order, empty sets, ``Master``/``Promoted``,
``Slave``/``Unpromoted``, ``true``/``1``/``yes`` for boolean options, ``40s``/``40000ms``,
``inf``/``INFINITY``, ``master-max``/``promoted-max``.

    >>> same({"interval": "40s"}, {"interval": "40000ms"})
    True
"""
import copy
import re
import xml.etree.ElementTree as ET

import os
import sys

from salt.exceptions import CommandExecutionError

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_secret  # noqa: E402  pylint: disable=wrong-import-position

# any name holding one of these is a secret too (fence agents' passwd, *key* files), on top
# of the formula's rule (ohaf_secret.is_secret_key)
SECRET_HINTS = ("passw", "secret", "key")
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
NV_SECTIONS = ("params", "meta", "utilization")
NV_TAGS = {"params": "instance_attributes", "meta": "meta_attributes",
           "utilization": "utilization"}


def vocabulary():
    """The tag and key sets the other ``ohaf_cib_*`` layers share."""
    return {"resource_tags": RESOURCE_TAGS, "constraint_tags": CONSTRAINT_TAGS,
            "role_keys": ROLE_KEYS, "sections": SECTIONS, "runtime_meta": RUNTIME_META,
            "nv_tags": NV_TAGS}


# ------------------------------------------------------------------------------- secrets
def _hidden():
    return ohaf_secret.hidden()


def is_secret(name, hidden=None):
    """True when the value of param/property ``name`` is a secret: the formula's rule, a
    name holding passw/secret/key, or a name listed in ``hidden`` (``hidden_params``)."""
    if ohaf_secret.is_secret_key(name, tuple(hidden or ())):
        return True
    low = str(name).lower()
    return any(h in low for h in SECRET_HINTS)


def mask(d, hidden=None):
    """Copy of a normalised object with secret params/meta/utilization values hidden."""
    d = copy.deepcopy(d)
    if isinstance(d, dict):
        for section in NV_SECTIONS:
            if isinstance(d.get(section), dict):
                d[section] = {k: (_hidden() if is_secret(k, hidden) and v is not None else v)
                              for k, v in d[section].items()}
    return d


def secret_values(*dicts, hidden=None):
    """The secret values of normalised objects (to scrub them from tool output)."""
    out = set()
    for d in dicts:
        for section in NV_SECTIONS:
            for k, v in ((d or {}).get(section) or {}).items():
                if is_secret(k, hidden) and v:
                    out.add(str(v))
    return out


def mask_nvpairs(el, hidden=None):
    """A copy of ``el`` whose secret nvpair values read ``<hidden>``."""
    el = copy.deepcopy(el)
    for nv in el.iter("nvpair"):
        if is_secret(nv.get("name", ""), hidden):
            nv.set("value", _hidden())
    return el


def nvpair_secrets(el):
    """The values of the secret nvpairs under ``el``."""
    return [nv.get("value") for nv in el.iter("nvpair") if is_secret(nv.get("name", ""))]


def mask_crmsh(text):
    """``crm configure show`` text with the values of secret-looking ``name=value`` hidden."""
    return re.sub(r'((?:passw\w*|secret\w*|\w*key\w*)=)("[^"]*"|\S+)', r"\1" + _hidden(),
                  text, flags=re.I)


# ------------------------------------------------------------------------ canonical values
def as_text(value):
    """A param/meta value as the CIB stores it (booleans as true/false, None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def is_true(value):
    return str(value).strip().lower() in TRUE


def _ms(value):
    m = re.match(r"^\s*(\d+)\s*(ms|msec|us|usec|s|sec|m|min|h|hr)?\s*$", str(value))
    if not m:
        return None
    n = int(m.group(1))
    unit = m.group(2) or "s"
    mult = {"ms": 1, "msec": 1, "us": 0.001, "usec": 0.001, "s": 1000, "sec": 1000,
            "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000}[unit]
    return int(n * mult)


def score(value):
    """A score in Pacemaker's spelling (inf/mandatory -> INFINITY, +5 -> 5)."""
    v = str(value).strip()
    low = v.lower()
    if low in ("inf", "+inf", "infinity", "+infinity", "mandatory"):
        return "INFINITY"
    if low in ("-inf", "-infinity"):
        return "-INFINITY"
    if re.match(r"^[+-]?\d+$", v):
        return str(int(v))
    return v


def role(value):
    """A role in Pacemaker 2 spelling (Master -> Promoted, Slave -> Unpromoted)."""
    return ROLES.get(str(value).strip().lower(), str(value))


def valid_role(value, what):
    """``role(value)``, or CommandExecutionError naming ``what`` for an unknown role."""
    found = ROLES.get(str(value).strip().lower())
    if found is None:
        raise CommandExecutionError(
            f"{what}: role {value!r}; allowed: Started, Stopped, Promoted, Unpromoted "
            "(Master, Slave)")
    return found


def canon(key, value):
    """``value`` of option ``key`` as comparable data (bool, milliseconds, role, score)."""
    value = as_text(value)
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
        return role(value)
    if key == "score":
        return score(value)
    return value


def same(a, b, key=None):
    """True when two values (dicts/lists compared member by member) mean the same."""
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = a or {}, b or {}
        keys = {k for k, v in a.items() if v is not None} | {k for k, v in b.items()
                                                            if v is not None}
        return all(same(a.get(k), b.get(k), k) for k in keys)
    if isinstance(a, list) or isinstance(b, list):
        a, b = a or [], b or []
        return len(a) == len(b) and all(same(x, y, key) for x, y in zip(a, b))
    return canon(key, a) == canon(key, b)


def meta_key(name):
    """The Pacemaker 2 name of a clone meta attribute (master-max -> promoted-max)."""
    return META_ALIASES.get(name, name)


def schema_new(root):
    """True if the CIB schema accepts Promoted/Unpromoted (pacemaker-3.7+)."""
    v = root.get("validate-with", "")
    if v == "pacemaker-next":
        return True
    m = re.match(r"^pacemaker-(\d+)\.(\d+)$", v)
    return bool(m) and (int(m.group(1)), int(m.group(2))) >= (3, 7)


def role_out(value, root):
    """A role as the CIB's schema spells it (Master/Slave before pacemaker-3.7)."""
    out = role(value)
    if not schema_new(root):
        out = {"Promoted": "Master", "Unpromoted": "Slave"}.get(out, out)
    return out


def _interval_label(value):
    ms = _ms(value)
    if ms is None:
        return str(value)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def op_key(op):
    """An op's identity: ``<name>-<interval>[-<role>]`` (``monitor-29s-Promoted``)."""
    key = f"{op.get('name')}-{_interval_label(op.get('interval', '0'))}"
    if op.get("role"):
        key += f"-{role(op['role'])}"
    return key


def order_kind(d):
    """rsc_order: fold the deprecated score into kind, fill Pacemaker's defaults."""
    if "score" in d and not d.get("kind"):
        sc = score(d.pop("score"))
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


# ------------------------------------------------------------- element -> normalised data
def parse_cib(text, what="cibadmin --query"):
    """The ``<cib>`` root of an XML text, or CommandExecutionError."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CommandExecutionError(f"{what} returned unparsable XML: {exc}")
    if root.tag != "cib" or root.find("configuration") is None:
        raise CommandExecutionError(f"{what} did not return a <cib> with <configuration>")
    return root


def nvsets(elem, tag):
    """Direct, rule-less, non-reference nvsets of one kind."""
    return [s for s in elem.findall(tag) if s.find("rule") is None and s.get("id-ref") is None]


def read_nv(elem, tag, alias=False):
    """The nvpairs of ``elem``'s plain ``tag`` sets as {name: value}."""
    out = {}
    for s in nvsets(elem, tag):
        for nv in s.findall("nvpair"):
            name = nv.get("name")
            out[meta_key(name) if alias else name] = nv.get("value", "")
    return out


def _attrs(el):
    return {k: v for k, v in el.attrib.items() if k != "id"}


def norm_op(op):
    """An ``<op>`` as {name, interval, ..., params, meta}."""
    d = _attrs(op)
    params = read_nv(op, "instance_attributes")
    meta = read_nv(op, "meta_attributes")
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
            d = norm_op(op)
            ops[op_key(d)] = d
    d = {"type": "primitive", "agent": agent}
    d.update({k: read_nv(el, tag) for k, tag in NV_TAGS.items()})
    d["ops"] = ops
    if el.get("description"):
        d["description"] = el.get("description")
    return d


def _norm_clone(el):
    meta = read_nv(el, "meta_attributes", alias=True)
    promotable = el.tag == "master" or canon("promotable", meta.pop("promotable", "false")) is True
    child = next((c for c in el if c.tag in ("primitive", "group")), None)
    return {"type": "clone", "resource": child.get("id") if child is not None else None,
            "promotable": promotable, "meta": meta}


def _norm_group(el):
    return {"type": "group", "members": [p.get("id") for p in el.findall("primitive")],
            "meta": read_nv(el, "meta_attributes")}


def _norm_set(s):
    d = _attrs(s)
    d["resources"] = [r.get("id") for r in s.findall("resource_ref")]
    return d


def _norm_rule(r):
    d = _attrs(r)
    d["expressions"] = [_attrs(e) if e.tag == "expression" else {"tag": e.tag, **_attrs(e)}
                        for e in r]
    return d


def _norm_constraint(el):
    d = _attrs(el)
    d["type"] = el.tag
    sets = [_norm_set(s) for s in el.findall("resource_set")]
    if sets:
        d["sets"] = sets
    rules = [_norm_rule(r) for r in el.findall("rule")]
    if rules:
        d["rules"] = rules
    if el.tag == "rsc_order":
        order_kind(d)
    return d


def norm(el):
    """A resource or constraint element as normalised plain data."""
    if el.tag == "primitive":
        return _norm_primitive(el)
    if el.tag in ("clone", "master"):
        return _norm_clone(el)
    if el.tag == "group":
        return _norm_group(el)
    if el.tag in CONSTRAINT_TAGS:
        return _norm_constraint(el)
    return {"type": el.tag, **_attrs(el)}


def find_object(root, name):
    """The resource (any depth) or constraint with id ``name``, or None."""
    conf = root.find("configuration")
    res = conf.find("resources")
    for el in (res.iter() if res is not None else ()):
        if el.get("id") == name and el.tag in RESOURCE_TAGS:
            return el
    cons = conf.find("constraints")
    return next((c for c in (cons if cons is not None else ()) if c.get("id") == name), None)


def dc_of(root):
    """``{"dc": the DC's node name (its id when unnamed) or None, "have_quorum": bool}``
    of a ``<cib>``."""
    dc = root.get("dc-uuid")
    name = dc
    for node in root.iter("node"):
        if dc and node.get("id") == dc:
            name = node.get("uname", dc)
    return {"dc": name, "have_quorum": is_true(root.get("have-quorum"))}


def section_values(root, section, hidden=None):
    """Rule-less properties of crm_config/rsc_defaults/op_defaults, secrets masked."""
    if section not in SECTIONS:
        raise CommandExecutionError(f"section {section!r}; allowed: {', '.join(SECTIONS)}")
    sec = root.find("configuration").find(section)
    if sec is None:
        return {}
    out = read_nv(sec, SECTIONS[section][0])
    return {k: (_hidden() if is_secret(k, hidden) else v) for k, v in out.items()}


# ------------------------------------------------------------------------------------ diff
def set_defaults(sets):
    """Resource sets with Pacemaker's defaults filled (sequential, require-all)."""
    out = []
    for s in sets or []:
        s = dict(s)
        s.setdefault("sequential", "true")
        s.setdefault("require-all", "true")
        out.append(s)
    return out


def compare_view(d):
    """What is compared: constraints get defaults filled so omitted == default."""
    d = copy.deepcopy(d)
    if d.get("sets"):
        d["sets"] = set_defaults(d["sets"])
    return d


def _diff_section(key, o, n, hidden):
    sub = {}
    o, n = o or {}, n or {}
    for k in sorted(set(o) | set(n)):
        a, b = o.get(k), n.get(k)
        if isinstance(a, dict) or isinstance(b, dict):
            equal = same(a, b)
        else:
            equal = same(a, b, k)
        secret = key != "ops" and is_secret(k, hidden)
        if secret and a == "lrm://" and b is not None:
            equal = True  # stored with cibsecret: cannot compare, do not touch
        if not equal:
            if secret:
                sub[k] = {"old": _hidden() if a is not None else None,
                          "new": _hidden() if b is not None else None}
            else:
                sub[k] = {"old": a, "new": b}
    return sub


def diff(old, new, hidden=None, sections=NV_SECTIONS + ("ops",)):
    """The ``changes`` between two normalised objects (None = absent), secrets hidden."""
    if old is None and new is None:
        return {}
    if old is None:
        return {"old": None, "new": mask(new, hidden)}
    if new is None:
        return {"old": mask(old, hidden), "new": None}
    changes = {}
    cold, cnew = compare_view(old), compare_view(new)
    for key in sorted(set(cold) | set(cnew)):
        o, n = cold.get(key), cnew.get(key)
        if key in sections and (isinstance(o, dict) or isinstance(n, dict)):
            sub = _diff_section(key, o, n, hidden)
            if sub:
                changes[key] = sub
        elif not same(o, n, key):
            changes[key] = {"old": o, "new": n}
    return changes
