"""OpenNebula templates for the ``one`` module and states (``__utils__["ohaf_one_template.*"]``).

A template travels to oned normalised ONCE: ``normalize`` turns the pillar's dict into what
oned stores (upper-case names, string values), ``diff`` compares that with an oned template
without normalising again, and ``render`` writes the OpenNebula template text sent with
``one.<kind>.allocate`` / ``one.<kind>.update`` (every value quoted).

.. code-block:: python

    want = __utils__["ohaf_one_template.normalize"]({"type": "system_ds", "bridge_list": ["a"]})
    # {"TYPE": "SYSTEM_DS", "BRIDGE_LIST": "a"}
    changed = __utils__["ohaf_one_template.diff"](want, record["template"])
    text = __utils__["ohaf_one_template.render"]({k: want[k] for k in changed})
"""
import re


from salt.exceptions import CommandExecutionError


_ATTR_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# attributes oned stores canonicalised upper-case (Datastore::str_to_type, disk types)
_UPPER_VALUES = ("TYPE", "DISK_TYPE")
# attributes fixed at allocate: changing them on a datastore holding data needs a flag
_DRIVER_ATTRS = ("TYPE", "DS_MAD", "TM_MAD")


def _scalar(key, value):
    if isinstance(value, bool):
        text = "YES" if value else "NO"
    elif isinstance(value, (int, float, str)):
        text = str(value)
    elif isinstance(value, (list, tuple)):
        text = " ".join(_scalar(key, v) for v in value)
    else:
        raise CommandExecutionError(
            f"one: template attribute {key}: unsupported value type {type(value).__name__}")
    if "]]>" in text or text.endswith("\\"):
        raise CommandExecutionError(
            f"one: template attribute {key}: value cannot contain ']]>' or end with a backslash")
    return text


def _attr_name(key, vector=None):
    name = str(key).upper()
    if not _ATTR_NAME.match(name):
        where = f" in vector {vector}" if vector else ""
        kind = "attribute name" if vector else "template attribute name"
        raise CommandExecutionError(f"one: invalid {kind} {key!r}{where}")
    return name


def normalize(template):
    """``template`` (a dict) the way oned stores it: attribute names upper-case, values
    strings (``True``/``False`` -> ``YES``/``NO``, numbers -> str, lists of scalars ->
    space-separated string, dicts -> vector attributes), TYPE/DISK_TYPE values upper-case.
    None is the empty template."""
    if template is None:
        return {}
    if not isinstance(template, dict):
        raise CommandExecutionError("one: template must be a dict of ATTRIBUTE: value")
    out = {}
    for key, value in template.items():
        name = _attr_name(key)
        if value is None:
            raise CommandExecutionError(
                f"one: template attribute {name} has no value (removing attributes is not "
                "supported: updates merge)")
        if isinstance(value, dict):
            out[name] = {_attr_name(k, name): _scalar(f"{name}/{str(k).upper()}", v)
                         for k, v in value.items()}
        else:
            text = _scalar(name, value)
            out[name] = text.upper() if name in _UPPER_VALUES else text
    return out


def _quote(text):
    return '"' + text.replace('"', '\\"') + '"'


def _name_line(name):
    return f"NAME = {_quote(_scalar('NAME', name))}\n"


def render(norm, name=None):
    """OpenNebula template text of a NORMALISED template (``normalize``), every value
    quoted; ``name`` adds the ``NAME`` line first."""
    lines = []
    for key, value in norm.items():
        if isinstance(value, dict):
            inner = ",\n  ".join(f"{k} = {_quote(v)}" for k, v in value.items())
            lines.append(f"{key} = [\n  {inner} ]")
        else:
            lines.append(f"{key} = {_quote(value)}")
    head = _name_line(name) if name is not None else ""
    return head + "\n".join(lines) + "\n"


def text(template, name=None):
    """What ``one.<kind>.allocate/update`` is sent: template text as given (a ``NAME`` line
    added first when ``name`` is set), or a dict normalised and rendered."""
    if isinstance(template, str):
        return _name_line(name) + template if name is not None else template
    return render(normalize(template), name=name)


def diff(want, have):
    """``{ATTR: {"old": have[ATTR], "new": want[ATTR]}}`` for every attribute of the
    normalised ``want`` whose value differs from the oned template ``have``. Attributes oned
    added on its own (not in ``want``) are ignored."""
    have = have or {}
    out = {}
    for key, value in want.items():
        old = have.get(key)
        if isinstance(value, dict):
            old_cmp = ({str(k).upper(): str(v) for k, v in old.items()}
                       if isinstance(old, dict) else old)
        else:
            old_cmp = old.upper() if (key in _UPPER_VALUES and isinstance(old, str)) else old
        if old_cmp != value:
            out[key] = {"old": old, "new": value}
    return out


def datastore_view(record):
    """A datastore record's template as oned applies it: TYPE/TM_MAD/DS_MAD taken from the
    object (a SYSTEM_DS has no DS_MAD; a BACKUP_DS has no transfer driver: TM_MAD "-")."""
    cur = dict(record["template"])
    cur["TYPE"] = record["type"]
    cur["TM_MAD"] = record["tm_mad"]
    if record["type"] != "SYSTEM_DS":
        cur["DS_MAD"] = record["ds_mad"]
    return cur


def datastore_problem(want):
    """Why oned would refuse the normalised datastore template ``want`` (None: it would not)."""
    if not want:
        return "template is empty: give at least TYPE and TM_MAD"
    if "NAME" in want:
        return "template must not contain NAME: the state name is the NAME"
    if want.get("TYPE") == "SYSTEM_DS" and "DS_MAD" in want:
        return "a SYSTEM_DS datastore cannot have DS_MAD (oned rejects it)"
    if want.get("TYPE") == "BACKUP_DS" and want.get("TM_MAD", "-") != "-":
        return ("a BACKUP_DS datastore has no TM_MAD (oned stores '-'): "
                "leave TM_MAD out or set it to '-'")
    return None


def datastore_refs(datastore_ids, template):
    """``datastore_ids`` as ``{ATTR: [ref, ...]}`` (a ref is a datastore name or id), or the
    reason it cannot be used."""
    if datastore_ids is None:
        return {}, None
    if not isinstance(datastore_ids, dict):
        return None, "datastore_ids must be a dict of ATTRIBUTE: datastore name(s)"
    refs = {}
    for key, value in datastore_ids.items():
        attr = _attr_name(key)
        values = value if isinstance(value, (list, tuple)) else [value]
        if not values or not all(isinstance(v, (str, int)) and not isinstance(v, bool)
                                 and str(v) != "" for v in values):
            return None, f"datastore_ids: {attr} must name one datastore or a list of them"
        if attr in template:
            return None, f"datastore_ids: {attr} is in template too: give it once"
        refs[attr] = list(values)
    return refs, None


def driver_change(changes):
    """The TYPE/DS_MAD/TM_MAD entries of a template diff, as ``(have, want)`` texts
    (``"DS_MAD='fs', TM_MAD='ssh'"``), or None when the drivers stay."""
    drivers = sorted(k for k in changes if k in _DRIVER_ATTRS)
    if not drivers:
        return None
    return (", ".join(f"{k}={changes[k]['old']!r}" for k in drivers),
            ", ".join(f"{k}={changes[k]['new']!r}" for k in drivers))
