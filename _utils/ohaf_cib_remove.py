"""Removal from a copy of the CIB (``__utils__["ohaf_cib_remove.remove"]``, called by
``ohaf_cib_edit.plan`` with its editing context): a resource with, in the same change, every
constraint reference to it (resource sets lose just that member, constraints left with
nothing to constrain go), a container left empty with its last child; or a constraint.
"""
import os
import sys

from salt.exceptions import CommandExecutionError

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_cib  # noqa: E402  pylint: disable=wrong-import-position


def _removed(el):
    return {"old": ohaf_cib.mask(ohaf_cib.norm(el)), "new": None}


def _remove_resource(ctx, name, recursive=None):
    el = ctx.resource(name)
    if el is None:
        return {}
    res = ctx.section("resources")
    # containers left without a child go as well (a group/clone cannot be empty)
    victim = el
    parent = ctx.parent_of(victim)
    while parent is not None and parent is not res:
        if parent.tag == "group" and len(parent.findall("primitive")) > 1:
            break
        victim = parent
        parent = ctx.parent_of(victim)
    removed = {victim.get("id")}
    changes = {victim.get("id"): _removed(victim)}
    if recursive is None:
        # a clone's child makes no sense alone (a drbd primitive would run unpromoted on
        # one node); a group's members are kept, like crmsh's "delete group"
        recursive = victim.tag != "group"
    if victim.tag == "group" and victim is el and not recursive:
        for child in [c for c in el if c.tag in ("primitive", "group")]:
            ctx.move_to_top(child, after=el)
            ctx.notes.append(f"{child.get('id')} kept as a top-level resource")
    else:
        for d in victim.iter():
            if d.tag in ctx.tags and d is not victim:
                removed.add(d.get("id"))
                changes[d.get("id")] = _removed(d)
    ctx.parent_of(victim).remove(victim)
    changes.update(_prune_constraints(ctx, removed))
    return changes


def _prune_constraints(ctx, removed):
    """Remove references to removed resources; drop constraints left meaningless."""
    cons = ctx.section("constraints")
    norm = ohaf_cib.norm
    changes = {}
    for c in list(cons):
        before = norm(c)
        if any(c.get(k) in removed for k in ("rsc", "with-rsc", "first", "then")):
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
        if left < (2 if c.tag in ("rsc_colocation", "rsc_order") else 1):
            cons.remove(c)
            changes[c.get("id")] = {"old": before, "new": None}
        else:
            changes[c.get("id")] = {"old": before, "new": norm(c)}
    return changes


def remove(ctx, name, kind="resource", recursive=None):
    """Remove resource or constraint ``name`` from the CIB copy ``ctx`` (ohaf_cib_edit's
    editing context); returns the ``changes`` (one entry per element removed or changed)."""
    if kind == "constraint":
        cons = ctx.section("constraints")
        for c in list(cons):
            if c.get("id") == name:
                cons.remove(c)
                return {name: {"old": ohaf_cib.norm(c), "new": None}}
        return {}
    if kind != "resource":
        raise CommandExecutionError(f"remove: kind {kind!r}; allowed: resource, constraint")
    return _remove_resource(ctx, name, recursive=recursive)


