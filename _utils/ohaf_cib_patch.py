"""What Pacemaker's tools say about a CIB change (``__utils__["ohaf_cib_patch.*"]``):
``crm_verify -V`` output as errors/warnings, a ``crm_diff`` v2 patch as one summary line per
change (ids only, never values), and which elements a patch touched, to check after
``cibadmin --patch`` that the CIB holds them as written.
"""
import re
import xml.etree.ElementTree as ET

from salt.exceptions import CommandExecutionError

_ID_IN_PATH = re.compile(r"\[@id='([^']+)'\]")
_NOT_RUNNING = (
    "Transport endpoint is not connected", "Connection refused", "Could not connect",
    "No such file or directory", "Input file not available", "not connected",
)


def not_running(text):
    """True when a tool's words say the CIB manager cannot be reached."""
    return any(m in text for m in _NOT_RUNNING)


def tool_error(res, cib, what):
    """The message of a failed cibadmin/crm_verify run (cmd.run_all's dict): on a CIB file
    the tool's words; on the live cluster "cluster not running: ..." when the CIB manager
    cannot be reached (rc 102/107/66 or its words), else the rc and the words."""
    err = (res.get("stderr") or "").strip() or (res.get("stdout") or "").strip()
    if cib:
        return f"{what} failed on CIB file {cib}: {err}"
    if res.get("retcode") in (102, 107, 66) or not_running(err):
        first = err.splitlines()[0] if err else f"rc={res.get('retcode')}"
        return f"cluster not running: cannot reach the Pacemaker CIB manager on this node ({first})"
    return f"{what} failed (rc={res.get('retcode')}): {err}"


def parse_verify(res):
    """A ``crm_verify -V`` result (cmd.run_all's dict, secrets scrubbed) -> ``{"valid",
    "retcode", "errors", "warnings", "output"}`` with Pacemaker's own messages."""
    text = "\n".join(x for x in (res.get("stdout"), res.get("stderr")) if x)
    errors, warnings = [], []
    for line in text.splitlines():
        msg = re.sub(r"^\s*\([^)]*\)\s*", "", line).strip()
        if re.match(r"^(error|crit|critical)\s*:", msg, re.I):
            errors.append(re.sub(r"^\w+\s*:\s*", "", msg))
        elif re.match(r"^warning\s*:", msg, re.I):
            warnings.append(re.sub(r"^\w+\s*:\s*", "", msg))
    return {"valid": res.get("retcode") == 0, "retcode": res.get("retcode"), "errors": errors,
            "warnings": warnings, "output": text.strip()}


def verdict(check, before):
    """Whether a change may be written, from ``parse_verify`` of the new CIB (``check``,
    not valid) and of the CIB before it: CommandExecutionError when the change brings errors
    of its own; a note when the errors were all there before."""
    new_errors = [e for e in check["errors"] if e not in before["errors"]]
    if new_errors or not check["errors"]:
        raise CommandExecutionError("crm_verify rejects the new configuration, nothing written: "
                                    + ("; ".join(new_errors) or check["output"]))
    return ["configuration still has errors it had before: " + "; ".join(check["errors"])]


def parse_patch(text):
    """The ``<diff>`` root of ``crm_diff`` output, or CommandExecutionError."""
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise CommandExecutionError(f"crm_diff returned unparsable XML: {exc}")


def summary(patch):
    """One line per change of a crm_diff v2 patch: operation + ids, never values."""
    out = []
    for ch in patch.iter("change"):
        op, path = ch.get("operation", "?"), ch.get("path", "")
        where = "/".join(_ID_IN_PATH.findall(path)) or path
        if op == "create":
            kids = [f"{c.tag} {c.get('id', '')}".strip() for c in ch if c.tag != "change-list"]
            out.append(f"create {', '.join(kids)} in {where}")
        elif op == "modify":
            names = sorted({a.get("name", "") for a in ch.iter("change-attr")})
            out.append(f"modify {where} ({', '.join(n for n in names if n)})")
        else:
            out.append(f"{op} {where}")
    return out


def _targets(patch):
    """The ids a patch touched: the elements a create made (else its parent), the innermost
    id of the path a modify/move/delete names."""
    ids = set()
    for ch in patch.iter("change"):
        in_path = _ID_IN_PATH.findall(ch.get("path", ""))
        if ch.get("operation") == "create":
            ids.update([c.get("id") for c in ch if c.get("id")] or in_path[-1:])
        else:
            ids.update(in_path[-1:])
    return ids


def _tree_key(el):
    """An element and its subtree as comparable data (attribute order ignored)."""
    if el is None:
        return None
    return (el.tag, tuple(sorted(el.attrib.items())), tuple(_tree_key(c) for c in el))


def _by_id(root, ident):
    return next((e for e in root.find("configuration").iter() if e.get("id") == ident), None)


def off_targets(patch, live, wanted):
    """The ids a patch touched whose element (subtree) in ``live``, the CIB re-read after
    the write, is not as in ``wanted``, the CIB the patch was made to (absent there: absent
    here; a primitive moved into a clone: deleted and created, found in its new place),
    sorted. Elements changed meanwhile elsewhere are not looked at."""
    return sorted(i for i in _targets(patch)
                  if _tree_key(_by_id(live, i)) != _tree_key(_by_id(wanted, i)))
