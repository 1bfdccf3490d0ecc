"""In-memory edits of a copy of the CIB (``__utils__["ohaf_cib_edit.*"]``).

:func:`plan` applies ONE state's change (an object made to match its normalised desired form,
a resource or constraint removed, properties set) to a deep copy of a parsed CIB and returns
the copy with the ``changes`` (``ohaf_cib.diff``'s shape, secrets hidden) and notes. The
module then writes the copy (crm_verify, crm_diff, cibadmin --patch); nothing here runs a
command. Ids the CIB already has are kept; new ones are generated the way crmsh does
(``<rsc>-<op>-<interval>``, ``<rsc>-instance_attributes``...).
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
import ohaf_cib  # noqa: E402  pylint: disable=wrong-import-position
import ohaf_cib_remove  # noqa: E402  pylint: disable=wrong-import-position
import ohaf_cib_spec  # noqa: E402  pylint: disable=wrong-import-position
import ohaf_secret  # noqa: E402  pylint: disable=wrong-import-position

_EMPTY_CIB = ('<cib validate-with="pacemaker-3.9"><configuration><crm_config/><nodes/>'
              "<resources/><constraints/></configuration><status/></cib>")


def _cib(fun):
    return getattr(ohaf_cib, fun)


def _voc(name):
    return _cib("vocabulary")()[name]


class _Ctx:
    """A CIB copy being edited: its ids (to generate free ones) and notes for the comment."""

    def __init__(self, root):
        self.root = root
        self.conf = root.find("configuration")
        self.ids = {e.get("id") for e in root.iter() if e.get("id")}
        self.notes = []
        self.tags = _voc("resource_tags")

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
        return next((el for el in self.conf.iter()
                     if el.get("id") == rid and el.tag != "resource_ref"), None)

    def parent_of(self, el):
        return next((p for p in self.conf.iter() for c in p if c is el), None)

    def resource(self, rid):
        return next((el for el in self.section("resources").iter()
                     if el.get("id") == rid and el.tag in self.tags), None)

    def resource_ids(self):
        return {el.get("id") for el in self.section("resources").iter() if el.tag in self.tags}

    def move_to_top(self, el, after=None):
        """Make ``el`` a top-level resource (after ``after`` when given)."""
        res = self.section("resources")
        parent = self.parent_of(el)
        if parent is res:
            return
        if parent is not None:
            parent.remove(el)
        children = list(res)
        if after is not None and after in children:
            res.insert(children.index(after) + 1, el)
        else:
            res.append(el)


# ------------------------------------------------------------------------------ nvpairs
def _insert_nvset(elem, nvset):
    """Keep the conventional order: nvsets before operations and child resources."""
    for i, c in enumerate(list(elem)):
        if c.tag in ("operations", "primitive", "group") or (
                nvset.tag != "utilization" and c.tag == "utilization"):
            elem.insert(i, nvset)
            return
    elem.append(nvset)


def _patch_nv(ctx, elem, tag, desired, authoritative=True, keep=(), alias=False, hidden=None):
    sets = _cib("nvsets")(elem, tag)
    key = _cib("meta_key") if alias else (lambda k: k)
    same, is_secret = _cib("same"), _cib("is_secret")
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
            if is_secret(cname, hidden) and cur == "lrm://":
                continue
            if not same(cur, value, cname):
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


def _keep_runtime(meta):
    return [k for k in _voc("runtime_meta") if k not in meta]


def _current(ctx, el, want):
    """The normalised current object, run-time meta the state does not declare left out."""
    if el is None:
        return None
    cur = _cib("norm")(el)
    runtime = _voc("runtime_meta")
    cur["meta"] = {k: v for k, v in cur["meta"].items() if k in want["meta"] or k not in runtime}
    return cur


# ---------------------------------------------------------------------------- primitives
def _op_element(ctx, rid, d):
    attrs = {"id": ctx.new_id(f"{rid}-{d['name']}-{d.get('interval', '0')}")}
    role_out = _cib("role_out")
    for k in ohaf_cib_spec.op_attrs():
        if d.get(k) is not None:
            attrs[k] = role_out(d[k], ctx.root) if k == "role" else d[k]
    op = ET.Element("op", attrs)
    for k, tag in (("params", "instance_attributes"), ("meta", "meta_attributes")):
        if d.get(k):
            _patch_nv(ctx, op, tag, d[k])
    return op


def _patch_op(ctx, op, have, d):
    same, role_out = _cib("same"), _cib("role_out")
    for k in ohaf_cib_spec.op_attrs():
        if d.get(k) is None:
            op.attrib.pop(k, None)
        elif not same(have.get(k), d[k], k):
            op.set(k, role_out(d[k], ctx.root) if k == "role" else d[k])
    for k, tag in (("params", "instance_attributes"), ("meta", "meta_attributes")):
        _patch_nv(ctx, op, tag, d.get(k) or {})


def _patch_ops(ctx, el, want_ops):
    norm_op, op_key, same = _cib("norm_op"), _cib("op_key"), _cib("same")
    ops_el = el.find("operations")
    current = {}
    if ops_el is not None:
        for op in ops_el.findall("op"):
            current[op_key(norm_op(op))] = op
    for key, d in want_ops.items():
        if key in current:
            op = current.pop(key)
            have = norm_op(op)
            if not same(have, d):
                _patch_op(ctx, op, have, d)
        else:
            if ops_el is None:
                ops_el = ET.SubElement(el, "operations")
            ops_el.append(_op_element(ctx, el.get("id"), d))
    for op in current.values():
        ops_el.remove(op)
    if ops_el is not None and len(ops_el) == 0 and not ops_el.attrib:
        el.remove(ops_el)


def _patch_primitive(ctx, el, want, cur, hidden):
    cls, provider, typ = ohaf_cib_spec.parse_agent(want["agent"])
    if cur is None or not _cib("same")(cur.get("agent"), want["agent"]):
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
    _patch_nv(ctx, el, "meta_attributes", want["meta"], keep=_keep_runtime(want["meta"]))
    _patch_nv(ctx, el, "utilization", want["utilization"])
    _patch_ops(ctx, el, want["ops"])


def _check_free_id(ctx, name, el):
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", name):
        raise CommandExecutionError(
            f"id {name!r} is not a valid XML ID (letters, digits, '_', '-', '.'; "
            "not starting with a digit)")
    other = ctx.find_id(name)
    if other is not None and other is not el:
        raise CommandExecutionError(f"id {name!r} is already used by a <{other.tag}> element")


def _existing(ctx, name, tags, noun):
    el = ctx.resource(name)
    if el is not None and el.tag not in tags:
        raise CommandExecutionError(f"{name} exists but is a {el.tag}, not a {noun}")
    _check_free_id(ctx, name, el)
    return el


def _apply_primitive(ctx, name, want, hidden):
    el = _existing(ctx, name, ("primitive",), "primitive")
    cur = _current(ctx, el, want)
    changes = _cib("diff")(cur, want, hidden)
    if not changes:
        return {}
    if el is None:
        el = ET.SubElement(ctx.section("resources"), "primitive", {"id": name})
        ctx.ids.add(name)
    _patch_primitive(ctx, el, want, cur, hidden)
    return changes


# ------------------------------------------------------------------------ clones, groups
def _apply_clone(ctx, name, want, hidden):
    el = _existing(ctx, name, ("clone", "master"), "clone")
    child = ctx.resource(want["resource"])
    if child is None or child.tag not in ("primitive", "group"):
        raise CommandExecutionError(
            f"clone {name}: resource {want['resource']!r} does not exist as a primitive or "
            "group; declare it first (crm.resource_present / crm.group_present)")
    parent = ctx.parent_of(child)
    if parent is not el and parent.tag != "resources":
        raise CommandExecutionError(
            f"clone {name}: {want['resource']} is already inside {parent.tag} {parent.get('id')}")
    changes = _cib("diff")(_current(ctx, el, want), want, hidden)
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
        ctx.move_to_top(old, after=el)
    if ctx.parent_of(child) is not el:
        ctx.parent_of(child).remove(child)
        el.append(child)
    meta = dict(want["meta"])
    if want["promotable"]:
        meta["promotable"] = "true"
    _patch_nv(ctx, el, "meta_attributes", meta, keep=_keep_runtime(meta), alias=True)
    return changes


def _group_members(ctx, name, el, want):
    res = ctx.section("resources")
    members, missing = [], []
    for m in want["members"]:
        p = ctx.resource(m)
        if p is None:
            missing.append(m)
            continue
        if p.tag != "primitive":
            raise CommandExecutionError(f"group {name}: member {m} is a {p.tag}; only primitives")
        parent = ctx.parent_of(p)
        if parent is not el and parent is not res:
            raise CommandExecutionError(
                f"group {name}: member {m} is already inside {parent.tag} {parent.get('id')}")
        members.append(p)
    if missing:
        raise CommandExecutionError(
            f"group {name}: member(s) {', '.join(missing)} do not exist; declare them with "
            "crm.resource_present first (nothing was changed)")
    return members


def _apply_group(ctx, name, want, hidden):
    el = _existing(ctx, name, ("group",), "group")
    res = ctx.section("resources")
    members = _group_members(ctx, name, el, want)
    cur = _current(ctx, el, want)
    changes = _cib("diff")(cur, want, hidden)
    if not changes:
        return {}
    if el is None:
        kids = list(res)
        el = ET.Element("group", {"id": name})
        ctx.ids.add(name)
        res.insert(kids.index(members[0]) if members[0] in kids else len(kids), el)
    if cur is None or not _cib("same")(cur["members"], want["members"]):
        old_members = el.findall("primitive")
        for p in old_members:
            el.remove(p)
        for p in members:
            parent = ctx.parent_of(p)
            if parent is not None:
                parent.remove(p)
            el.append(p)
        for p in old_members:
            if p not in members:
                res.insert(list(res).index(el) + 1, p)
                ctx.notes.append(f"{p.get('id')} left group {name} and stays as a primitive")
    _patch_nv(ctx, el, "meta_attributes", want["meta"], keep=_keep_runtime(want["meta"]))
    return changes


# --------------------------------------------------------------------------- constraints
def _constraint_refs(d):
    refs = [d[k] for k in ("rsc", "with-rsc", "first", "then") if d.get(k)]
    for s in d.get("sets") or []:
        refs.extend(s["resources"])
    return refs


def _build_sets(ctx, el, name, sets):
    for i, s in enumerate(sets):
        attrs = {"id": ctx.new_id(f"{name}-{i}")}
        for k, v in s.items():
            if k != "resources":
                attrs[k] = _cib("role_out")(v, ctx.root) if k == "role" else v
        se = ET.SubElement(el, "resource_set", attrs)
        for r in s["resources"]:
            ET.SubElement(se, "resource_ref", {"id": r})


def _build_rules(ctx, el, name, rules):
    for i, r in enumerate(rules):
        attrs = {"id": ctx.new_id(f"{name}-rule" + (f"-{i}" if i else ""))}
        for k, v in r.items():
            if k != "expressions":
                attrs[k] = _cib("role_out")(v, ctx.root) if k == "role" else v
        rule = ET.SubElement(el, "rule", attrs)
        for j, e in enumerate(r["expressions"]):
            e = dict(e)
            tag = e.pop("tag", "expression")
            ET.SubElement(rule, tag, {
                "id": ctx.new_id(f"{attrs['id']}-expr" + (f"-{j}" if j else "")), **e})


def _apply_constraint(ctx, name, want, hidden):
    tag = want["type"]
    cons = ctx.section("constraints")
    el = next((c for c in reversed(list(cons)) if c.get("id") == name), None)
    if el is not None and el.tag != tag:
        raise CommandExecutionError(f"constraint {name} exists but is a {el.tag}, not a {tag}")
    _check_free_id(ctx, name, el)
    known = ctx.resource_ids()
    unknown = [r for r in _constraint_refs(want) if r not in known]
    if unknown:
        raise CommandExecutionError(
            f"{tag} {name} references unknown resource(s): {', '.join(sorted(set(unknown)))}")
    cur = _cib("norm")(el) if el is not None else None
    changes = _cib("diff")(cur, want, hidden)
    if not changes:
        return {}
    if el is None:
        el = ET.SubElement(cons, tag, {"id": name})
        ctx.ids.add(name)
    same, role_out, role_keys = _cib("same"), _cib("role_out"), _voc("role_keys")
    scalar = {k: v for k, v in want.items() if k not in ("type", "sets", "rules")}
    if tag == "rsc_order":
        el.attrib.pop("score", None)
    for k in list(el.attrib):
        if k != "id" and k not in scalar:
            del el.attrib[k]
    for k, v in scalar.items():
        if cur is None or not same(cur.get(k), v, k) or el.get(k) is None:
            el.set(k, role_out(v, ctx.root) if k in role_keys else v)
    view = _cib("compare_view")
    cv, wv = view(cur or {}), view(want)
    if not same(cv.get("sets"), wv.get("sets")):
        for s in el.findall("resource_set"):
            el.remove(s)
        _build_sets(ctx, el, name, want.get("sets") or [])
    if not same(cv.get("rules"), wv.get("rules")):
        for r in el.findall("rule"):
            el.remove(r)
        _build_rules(ctx, el, name, want.get("rules") or [])
    return changes


# ---------------------------------------------------------------------------- properties
def _property_changes(cur, properties):
    same, is_secret = _cib("same"), _cib("is_secret")
    hidden = ohaf_secret.hidden()
    changes = {}
    for k, v in properties.items():
        have = cur[k][1].get("value") if k in cur else None
        if v is None:
            if k in cur:
                changes[k] = {"old": hidden if is_secret(k) else have, "new": None}
        elif have is None or not same(have, v, k):
            if is_secret(k):
                changes[k] = {"old": hidden if have is not None else None, "new": hidden}
            else:
                changes[k] = {"old": have, "new": v}
    return changes


def _apply_property(ctx, section, properties, set_id=None):
    if not isinstance(properties, dict) or not properties:
        raise CommandExecutionError("properties must be a non-empty mapping")
    sections = _voc("sections")
    if section not in sections:
        raise CommandExecutionError(
            f"property section {section!r}; allowed: {', '.join(sections)}")
    properties = {str(k): _cib("as_text")(v) for k, v in properties.items()}
    tag, default_id = sections[section]
    sec = ctx.conf.find(section)
    nvsets = _cib("nvsets")
    cur = {}
    for s in (nvsets(sec, tag) if sec is not None else []):
        for nv in s.findall("nvpair"):
            cur.setdefault(nv.get("name"), (s, nv))
    changes = _property_changes(cur, properties)
    if not changes:
        return {}
    sec = ctx.section(section)
    sets = nvsets(sec, tag)
    target = next((s for s in sets if s.get("id") == set_id), None) if set_id else None
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


# --------------------------------------------------------------------------------- entries
_EDITORS = {
    "primitive": _apply_primitive,
    "clone": _apply_clone,
    "group": _apply_group,
    "rsc_colocation": _apply_constraint,
    "rsc_order": _apply_constraint,
    "rsc_location": _apply_constraint,
}


def plan(root, what, name=None, want=None, hidden=None, kind="resource", recursive=None,
         properties=None, section="crm_config", set_id=None):
    """One state's change applied to a deep copy of the parsed CIB ``root`` (untouched):

    * ``what="object"``: the object ``name`` made to match ``want`` (``ohaf_cib_spec.desired``);
    * ``what="absent"``: the resource (``kind="resource"``, ``recursive``) or constraint
      ``name`` removed (``ohaf_cib_remove``);
    * ``what="properties"``: ``properties`` of ``section`` set (value None: removed).

    Returns ``{"root": the edited copy, "changes": {...}, "notes": [...]}``; raises
    CommandExecutionError for what cannot be done (unknown members, ids in use...)."""
    ctx = _Ctx(copy.deepcopy(root))
    if what == "object":
        changes = _EDITORS[want["type"]](ctx, str(name), want, list(hidden or []))
    elif what == "absent":
        changes = ohaf_cib_remove.remove(ctx, str(name), kind, recursive)
    elif what == "properties":
        changes = _apply_property(ctx, section, properties, set_id)
    else:
        raise CommandExecutionError(f"plan: {what!r}; allowed: object, absent, properties")
    return {"root": ctx.root, "changes": changes, "notes": list(ctx.notes)}


def build(want, name, hidden=None, live=None):
    """The XML a NEW object ``want`` would be stored as (ids generated), built against an
    empty CIB, or against ``live`` (its schema spelling, its ids taken). Secrets masked.
    Primitives (stonith too) and constraints."""
    root = ET.fromstring(_EMPTY_CIB)
    if live is not None:
        root.set("validate-with", live.get("validate-with", ""))
    ctx = _Ctx(root)
    if live is not None:
        ctx.ids |= {e.get("id") for e in live.iter() if e.get("id")}
    name = str(name)
    if want["type"] == "primitive":
        el = ET.SubElement(ctx.section("resources"), "primitive", {"id": name})
        _patch_primitive(ctx, el, want, None, hidden)
        el = _cib("mask_nvpairs")(el, hidden)
    elif want["type"] in _voc("constraint_tags"):
        for r in _constraint_refs(want):
            ET.SubElement(ctx.section("resources"), "primitive", {"id": r})
        _apply_constraint(ctx, name, want, hidden)
        el = ctx.section("constraints").find(f"*[@id='{name}']")
    else:
        raise CommandExecutionError("build supports primitive, stonith and constraints")
    ET.indent(el)
    return ET.tostring(el, encoding="unicode")
