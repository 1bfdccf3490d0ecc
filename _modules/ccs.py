"""
Red Hat Cluster Suite (cman + rgmanager, RHEL 6 era) configuration: ``cluster.conf``.

The module edits ``/etc/cluster/cluster.conf`` (``path`` argument) directly as XML, the way
``ccs -f FILE`` does, so it works on any minion; the ``ccs``/``cman_tool`` CLI is only needed
to push the file to the other nodes and activate it (:py:func:`sync_activate`).

Conventions
-----------
* **Keys.** Nodes, failover domains, services and fence devices are keyed by ``name``;
  ``<rm><resources>`` children by their primary attribute: ``address`` for ``ip``, ``name``
  for every other rgmanager resource (``script``, ``fs``, ``nfsexport``, ``nfsclient``...).
* **Defaults.** Attributes are compared *with the resource-agent defaults applied*
  (:data:`DEFAULTS`, taken from the rgmanager agents' meta-data and cluster.rng): an absent
  attribute equals its default, so ``autostart=1`` (``ccs --addservice ... autostart=1``)
  equals a ``<service>`` with no ``autostart`` (the Red Hat cluster guide's printed file) and
  nothing is rewritten. Values are written as given (``True``/``False`` become ``"1"``/``"0"``),
  and an edit only touches the attributes that differ after normalisation; an attribute that is
  not wanted any more is removed, unless its value is the default anyway.
  Boolean attributes treat ``yes/on/true`` as ``1`` and ``no/off/false`` as ``0``.
* **config_version.** Every change set bumps ``config_version`` exactly once; nothing
  changed, nothing bumped. A change set is one call of an edit function, or all calls that
  pass the same ``change_set`` token (the ``ccs`` states pass one token per state run, so a
  highstate bumps once). The bump is skipped only if the file is still byte-for-byte the one
  this change set wrote (inode, size, mtime): any foreign edit in between starts a new one.
* **Writes** are atomic (temp file in the same directory, fsync, rename), mode ``0640``,
  owner root, 2-space indented, attributes sorted (like ccs), ``<?xml version="1.0"?>``.
  Missing sections are created in the order ccs uses (``fence_daemon, clusternodes, cman,
  fencedevices, rm{failoverdomains, resources, service...}``); sections already present keep
  their position, unknown elements and comments are preserved.
* **Secrets.** Fence attributes named like a password (``passwd``, ``password``,
  ``snmp_priv_passwd``...) are reported as ``"<hidden>"``; the ricci password given to
  :py:func:`sync_activate` is redacted from every returned or logged command line.
"""

import copy
import logging
import os
import re
import tempfile
import xml.etree.ElementTree as ET

import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "ccs"

DEFAULT_PATH = "/etc/cluster/cluster.conf"
HIDDEN = "<hidden>"
NOT_INSTALLED = (
    "ccs/cman_tool not installed: copy cluster.conf to every node and run cman_tool version -r"
)

#: order ccs writes the sections in (the Red Hat cluster guide); unknown tags keep their position
CLUSTER_ORDER = (
    "fence_daemon",
    "clusternodes",
    "cman",
    "totem",
    "quorumd",
    "fence_xvmd",
    "dlm",
    "gfs_controld",
    "group",
    "logging",
    "fencedevices",
    "rm",
    "clvmd",
)
RM_ORDER = ("failoverdomains", "events", "resources", "resource-defaults", "service", "vm")
NODE_ORDER = ("altname", "fence", "unfence")

#: defaults applied before comparing (rgmanager agent meta-data / cluster.rng)
DEFAULTS = {
    "clusternode": {"votes": "1"},
    "failoverdomain": {"ordered": "0", "restricted": "0", "nofailback": "0"},
    "service": {
        "autostart": "1",
        "exclusive": "0",
        "hardrecovery": "0",
        "nfslock": "0",
        "recovery": "restart",
        "depend_mode": "hard",
        "max_restarts": "0",
        "restart_expire_time": "0",
    },
    "ip": {"monitor_link": "1"},
}
BOOL_ATTRS = frozenset(
    (
        "ordered",
        "restricted",
        "nofailback",
        "autostart",
        "exclusive",
        "hardrecovery",
        "nfslock",
        "monitor_link",
        "two_node",
    )
)
#: primary attribute of a resource element (rgmanager ``primary="1"`` parameter)
PRIMARY_ATTR = {"ip": "address"}


def __virtual__():
    # pure XML work needs no binary; the CLI functions check for their tools themselves
    return __virtualname__


# --------------------------------------------------------------------------- helpers


def _is_secret(attr):
    attr = attr.lower()
    return ("passw" in attr or attr in ("community", "auth_key")) and not attr.endswith(
        "_script"
    )


def _hide(attrs):
    if attrs is None:
        return None
    return {k: (HIDDEN if _is_secret(k) else v) for k, v in attrs.items()}


def _hide_changes(changes):
    out = {}
    for key, val in changes.items():
        if isinstance(val, dict) and set(val) == {"old", "new"} and _is_secret(key.split(".")[-1]):
            out[key] = {
                "old": None if val["old"] is None else HIDDEN,
                "new": None if val["new"] is None else HIDDEN,
            }
        else:
            out[key] = val
    return out


def _to_str(value):
    """Value as it is written to the file."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _norm(attr, value):
    """Value as it is compared."""
    if value is None:
        return None
    value = _to_str(value).strip()
    if attr in BOOL_ATTRS:
        low = value.lower()
        if low in ("yes", "on", "true"):
            return "1"
        if low in ("no", "off", "false"):
            return "0"
    return value


def _clean_attrs(attrs):
    """Drop unset values and Salt's private kwargs; stringify values."""
    out = {}
    for key, val in (attrs or {}).items():
        if key.startswith("__") or val is None:
            continue
        out[str(key)] = _to_str(val)
    return out


def _attr_diff(current, desired, defaults=None, ignore=()):
    """Attribute-level diff ``{attr: {old, new}}`` with ``defaults`` applied."""
    defaults = defaults or {}
    current = current or {}
    changes = {}
    for key in sorted(set(current) | set(desired)):
        if key in ignore:
            continue
        old, new = current.get(key), desired.get(key)
        cmp_old = _norm(key, old if old is not None else defaults.get(key))
        cmp_new = _norm(key, new if new is not None else defaults.get(key))
        if cmp_old != cmp_new:
            changes[key] = {"old": old, "new": new}
    return changes


def _apply_attr_diff(elem, changes):
    for key, chg in changes.items():
        if chg["new"] is None:
            elem.attrib.pop(key, None)
        else:
            elem.set(key, _to_str(chg["new"]))


def _insert_ordered(parent, child, order):
    """Insert ``child`` before the first known sibling that ccs writes after it."""
    if child.tag not in order:
        parent.append(child)
        return child
    rank = order.index(child.tag)
    for idx, sib in enumerate(list(parent)):
        if isinstance(sib.tag, str) and sib.tag in order and order.index(sib.tag) > rank:
            parent.insert(idx, child)
            return child
    parent.append(child)
    return child


def _child(parent, tag, order=None, create=False):
    found = parent.find(tag)
    if found is None and create:
        found = ET.Element(tag)
        if order:
            _insert_ordered(parent, found, order)
        else:
            parent.append(found)
    return found


def _find_by(parent, tag, attr, value):
    if parent is None:
        return None
    for elem in parent.findall(tag):
        if elem.get(attr) == value:
            return elem
    return None


def _elements(parent):
    return [e for e in list(parent) if isinstance(e.tag, str)]


def _tree_to_data(elem):
    """``<ip ref="x"><fs .../></ip>`` -> ``{"ip": {"ref": "x", "children": [...]}}``."""
    attrs = dict(elem.attrib)
    kids = _elements(elem)
    if kids:
        attrs["children"] = [_tree_to_data(k) for k in kids]
    return {elem.tag: attrs}


def _norm_tree(items, where="resources"):
    """Normalise a desired sub-resource list into ``[(tag, {attrs}, [children])]``."""
    out = []
    for item in items or []:
        if not isinstance(item, dict) or len(item) != 1:
            raise CommandExecutionError(
                f"{where}: each entry must be a one-key mapping {{type: {{attrs}}}}, got {item!r}"
            )
        tag, attrs = next(iter(item.items()))
        attrs = dict(attrs or {})
        children = attrs.pop("children", None)
        out.append((str(tag), _clean_attrs(attrs), _norm_tree(children, f"{where}.{tag}")))
    return out


def _elem_tree(elem):
    return [
        (k.tag, dict(k.attrib), _elem_tree(k)) for k in _elements(elem)
    ]


def _cmp_tree(tree):
    return [
        (tag, {k: _norm(k, v) for k, v in attrs.items()}, _cmp_tree(kids))
        for tag, attrs, kids in tree
    ]


def _tree_as_data(tree):
    out = []
    for tag, attrs, kids in tree:
        data = dict(attrs)
        if kids:
            data["children"] = _tree_as_data(kids)
        out.append({tag: data})
    return out


def _build_tree(parent, tree):
    for tag, attrs, kids in tree:
        elem = ET.SubElement(parent, tag, dict(sorted(attrs.items())))
        _build_tree(elem, kids)


# --------------------------------------------------------------------------- file I/O


def _sig(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _parse_bytes(data, path):
    if not data.strip():
        return None
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    try:
        root = ET.fromstring(data, parser=parser)
    except ET.ParseError as exc:
        raise CommandExecutionError(f"{path}: not valid XML: {exc}") from exc
    if root.tag != "cluster":
        raise CommandExecutionError(f"{path}: root element is <{root.tag}>, expected <cluster>")
    return root


def _load(path):
    """The parsed ``<cluster>`` root (a private copy) or ``None`` for a missing/empty file.

    Cached in ``__context__`` per (inode, size, mtime): a write by anyone invalidates it."""
    cache = __context__.setdefault("ccs.cache", {})
    sig = _sig(path)
    if sig is None:
        cache.pop(path, None)
        return None
    hit = cache.get(path)
    if hit and hit[0] == sig:
        return copy.deepcopy(hit[1])
    with open(path, "rb") as fh:
        data = fh.read()
    root = _parse_bytes(data, path)
    cache[path] = (sig, root)
    return copy.deepcopy(root)


_EMPTY_TAG = re.compile(r"(<[^<>!?]*?) />")


def _serialize(root):
    root = copy.deepcopy(root)
    for elem in root.iter():
        if isinstance(elem.tag, str) and elem.attrib:
            items = sorted(elem.attrib.items())
            elem.attrib.clear()
            elem.attrib.update(items)
    ET.indent(root, space="  ")
    # ccs style "<x/>": ET escapes "<" and ">" in attribute values, so this only hits tags
    text = _EMPTY_TAG.sub(r"\1/>", ET.tostring(root, encoding="unicode"))
    return ('<?xml version="1.0"?>\n' + text + "\n").encode()


def _atomic_write(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cluster.conf.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o640)
        if os.geteuid() == 0:
            os.chown(tmp, 0, 0)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _version(root):
    try:
        return int(root.get("config_version", "0"))
    except (TypeError, ValueError):
        return 0


def _commit(path, root, change_set=None, min_version=None):
    """Write ``root`` to ``path``, bumping config_version once per change set.

    Returns ``{"old": v, "new": v'}`` for the version."""
    marks = __context__.setdefault("ccs.change_sets", {})
    current = _load(path)
    old_version = _version(current) if current is not None else 0
    mark = marks.get(path)
    same_set = (
        change_set is not None
        and mark is not None
        and mark["token"] == change_set
        and mark["sig"] == _sig(path)
        and mark["version"] == old_version
    )
    new_version = old_version if same_set else old_version + 1
    if min_version is not None and new_version < int(min_version):
        new_version = int(min_version)
    root.set("config_version", str(new_version))
    data = _serialize(root)
    _atomic_write(path, data)
    sig = _sig(path)
    __context__.setdefault("ccs.cache", {})[path] = (sig, _parse_bytes(data, path))
    marks[path] = {"token": change_set, "sig": sig, "version": new_version}
    if not same_set:
        log.info("ccs: %s config_version %s -> %s", path, old_version, new_version)
    return {"old": old_version if current is not None else None, "new": new_version}


def _skeleton(name=""):
    """What ``ccs --createcluster NAME`` writes."""
    root = ET.Element("cluster", {"config_version": "0", "name": name})
    for tag in ("fence_daemon", "clusternodes", "cman", "fencedevices"):
        ET.SubElement(root, tag)
    rm = ET.SubElement(root, "rm")
    ET.SubElement(rm, "failoverdomains")
    ET.SubElement(rm, "resources")
    return root


def _edit(path, mutate, test=False, change_set=None, create=False, what="cluster.conf"):
    """Run ``mutate(root) -> changes`` on a copy; write once if something changed.

    ``create``: a missing/empty file starts as a ccs skeleton; otherwise an edit of a file
    without ``<cluster>`` fails (in test mode it is diffed against an empty skeleton)."""
    root = _load(path)
    missing = root is None
    if missing:
        if not (create or test):
            raise CommandExecutionError(
                f"{path} has no <cluster>: apply ccs.cluster_present before {what}"
            )
        root = _skeleton()
    changes = mutate(root, missing)
    ret = {"changes": changes, "config_version": None, "path": path, "test": bool(test)}
    if changes and not test:
        ret["config_version"] = _commit(
            path, root, change_set=change_set, min_version=getattr(mutate, "min_version", None)
        )
    return ret


# --------------------------------------------------------------------------- reading


def _node_data(elem):
    data = {k: v for k, v in elem.attrib.items() if k != "name"}
    fence = elem.find("fence")
    if fence is not None:
        data["fence"] = {
            m.get("name"): [_hide(dict(d.attrib)) for d in m.findall("device")]
            for m in fence.findall("method")
        }
    return data


def _fod_data(elem):
    data = {k: v for k, v in elem.attrib.items() if k != "name"}
    data["nodes"] = {n.get("name"): n.get("priority") for n in elem.findall("failoverdomainnode")}
    return data


def _resource_key(tag):
    return PRIMARY_ATTR.get(tag, "name")


def get_config(path=DEFAULT_PATH):
    """
    The whole cluster.conf as data (fence passwords shown as ``<hidden>``); ``{}`` if the
    file is missing or empty.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.get_config
    """
    root = _load(path)
    if root is None:
        return {}
    rm = root.find("rm")
    fods = rm.find("failoverdomains") if rm is not None else None
    res = rm.find("resources") if rm is not None else None
    nodes = root.find("clusternodes")
    fdevs = root.find("fencedevices")
    return {
        "name": root.get("name"),
        "config_version": _version(root),
        "cman": dict(root.find("cman").attrib) if root.find("cman") is not None else None,
        "fence_daemon": dict(root.find("fence_daemon").attrib)
        if root.find("fence_daemon") is not None
        else None,
        "rm": dict(rm.attrib) if rm is not None else None,
        "nodes": {n.get("name"): _node_data(n) for n in nodes.findall("clusternode")}
        if nodes is not None
        else {},
        "fencedevices": {
            d.get("name"): _hide({k: v for k, v in d.attrib.items() if k != "name"})
            for d in fdevs.findall("fencedevice")
        }
        if fdevs is not None
        else {},
        "failoverdomains": {f.get("name"): _fod_data(f) for f in fods.findall("failoverdomain")}
        if fods is not None
        else {},
        "resources": [_tree_to_data(r) for r in _elements(res)] if res is not None else [],
        "services": {
            s.get("name"): {
                **{k: v for k, v in s.attrib.items() if k != "name"},
                "resources": [_tree_to_data(k) for k in _elements(s)],
            }
            for s in rm.findall("service")
        }
        if rm is not None
        else {},
    }


def get_version(path=DEFAULT_PATH):
    """``config_version`` of the file (``None`` if missing/empty)."""
    root = _load(path)
    return None if root is None else _version(root)


# --------------------------------------------------------------------------- cluster


def set_cluster(
    name,
    cman=None,
    fence_daemon=None,
    rm=None,
    config_version=None,
    path=DEFAULT_PATH,
    test=False,
    change_set=None,
):
    """
    Ensure ``<cluster name=...>`` with the ccs skeleton, and the exact attribute sets of
    ``<cman>``, ``<fence_daemon>`` and ``<rm>`` when given (``None``: not managed, ``{}``:
    no attributes). ``config_version`` is a floor: a lower file version is raised to it
    (in the same single bump), a higher one is kept (cman refuses to go back).

    Returns ``{"changes": ..., "config_version": {"old", "new"} or None}``.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_cluster opennebula cman='{two_node: 1, expected_votes: 1}'
    """
    if not name:
        raise CommandExecutionError("cluster name must not be empty")

    def mutate(root, missing=False):
        changes = {}
        if root.get("name") != name:
            changes["name"] = {"old": root.get("name") or None, "new": name}
            root.set("name", name)
        for tag, want in (("fence_daemon", fence_daemon), ("cman", cman)):
            elem = _child(root, tag, CLUSTER_ORDER, create=True)
            if want is not None:
                diff = _attr_diff(dict(elem.attrib), _clean_attrs(want))
                _apply_attr_diff(elem, diff)
                changes.update({f"{tag}.{k}": v for k, v in diff.items()})
        _child(root, "clusternodes", CLUSTER_ORDER, create=True)
        _child(root, "fencedevices", CLUSTER_ORDER, create=True)
        rm_elem = _child(root, "rm", CLUSTER_ORDER, create=True)
        if rm is not None:
            diff = _attr_diff(dict(rm_elem.attrib), _clean_attrs(rm))
            _apply_attr_diff(rm_elem, diff)
            changes.update({f"rm.{k}": v for k, v in diff.items()})
        if config_version is not None and _version(root) < int(config_version):
            changes["config_version"] = {"old": _version(root), "new": int(config_version)}
        if missing:
            new = {"name": name}
            for key, want in (("cman", cman), ("fence_daemon", fence_daemon), ("rm", rm)):
                if want is not None:
                    new[key] = _clean_attrs(want)
            return {"old": None, "new": new}
        return changes

    mutate.min_version = config_version
    return _edit(path, mutate, test=test, change_set=change_set, create=True)


# --------------------------------------------------------------------------- nodes


def set_node(
    name, nodeid, votes=None, attrs=None, path=DEFAULT_PATH, test=False, change_set=None
):
    """
    Ensure ``<clusternode name nodeid [votes] [attrs]>`` (exact attribute set, ``votes``
    default 1). Its ``<fence>`` block is left alone (see :py:func:`set_fence_method`).

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_node one-server1 1
    """
    try:
        nodeid = int(nodeid)
        if nodeid < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise CommandExecutionError(f"node {name}: nodeid must be a positive integer")
    desired = {"name": name, "nodeid": str(nodeid), **_clean_attrs(attrs)}
    if votes is not None:
        desired["votes"] = _to_str(votes)

    def mutate(root, missing=False):
        nodes = _child(root, "clusternodes", CLUSTER_ORDER, create=True)
        for other in nodes.findall("clusternode"):
            if other.get("name") != name and other.get("nodeid") == str(nodeid):
                raise CommandExecutionError(
                    f"node {name}: nodeid {nodeid} already used by {other.get('name')}"
                )
        elem = _find_by(nodes, "clusternode", "name", name)
        if elem is None:
            ET.SubElement(nodes, "clusternode", dict(sorted(desired.items())))
            return {"old": None, "new": desired}
        diff = _attr_diff(dict(elem.attrib), desired, DEFAULTS["clusternode"])
        _apply_attr_diff(elem, diff)
        return diff

    return _edit(path, mutate, test=test, change_set=change_set, what=f"node {name}")


def _remove(path, parent_path, tag, attr, value, test, change_set, data=None):
    def mutate(root, missing=False):
        parent = root.find(parent_path) if parent_path != "." else root
        elem = _find_by(parent, tag, attr, value)
        if elem is None:
            return {}
        old = data(elem) if data else dict(elem.attrib)
        parent.remove(elem)
        return {"old": old, "new": None}

    if _load(path) is None:
        return {"changes": {}, "config_version": None, "path": path, "test": bool(test)}
    return _edit(path, mutate, test=test, change_set=change_set)


def remove_node(name, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<clusternode name=NAME>`` (with its fence methods)."""
    return _remove(
        path, "clusternodes", "clusternode", "name", name, test, change_set,
        lambda e: {"name": name, **_node_data(e)},
    )


# --------------------------------------------------------------------------- failover domains


def _fod_nodes(nodes):
    if nodes is None:
        return {}
    if isinstance(nodes, (list, tuple)):
        out = {}
        for item in nodes:
            if isinstance(item, dict):
                out.update(item)
            else:
                out[item] = None
        nodes = out
    return {str(k): (None if v is None else _to_str(v)) for k, v in nodes.items()}


def set_failoverdomain(
    name,
    ordered=False,
    restricted=False,
    nofailback=False,
    nodes=None,
    path=DEFAULT_PATH,
    test=False,
    change_set=None,
):
    """
    Ensure ``<failoverdomain name ordered restricted nofailback>`` with exactly ``nodes``
    (``{node: priority}``, or a list of names for an unordered domain). Like
    ``ccs --addfailoverdomain``, the three flags are always written (``"0"``/``"1"``).

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_failoverdomain opennebula ordered=True nodes='{one-server1: 1, one-server2: 2}'
    """
    flags = {
        "nofailback": _to_str(nofailback),
        "ordered": _to_str(ordered),
        "restricted": _to_str(restricted),
    }
    want_nodes = _fod_nodes(nodes)

    def mutate(root, missing=False):
        rm = _child(root, "rm", CLUSTER_ORDER, create=True)
        fods = _child(rm, "failoverdomains", RM_ORDER, create=True)
        elem = _find_by(fods, "failoverdomain", "name", name)
        changes = {}
        if elem is None:
            elem = ET.SubElement(fods, "failoverdomain", {"name": name, **flags})
            changes = {"old": None, "new": {"name": name, **flags, "nodes": want_nodes}}
            have_nodes = None
        else:
            diff = _attr_diff(
                dict(elem.attrib), {"name": name, **flags}, DEFAULTS["failoverdomain"]
            )
            _apply_attr_diff(elem, diff)
            changes.update(diff)
            have_nodes = {
                n.get("name"): n.get("priority") for n in elem.findall("failoverdomainnode")
            }
            if have_nodes != want_nodes:
                changes["nodes"] = {"old": have_nodes, "new": want_nodes}
        if have_nodes != want_nodes:
            for old in elem.findall("failoverdomainnode"):
                elem.remove(old)
            for node, prio in want_nodes.items():
                attrs = {"name": node}
                if prio is not None:
                    attrs["priority"] = prio
                ET.SubElement(elem, "failoverdomainnode", attrs)
        return changes

    return _edit(path, mutate, test=test, change_set=change_set, what=f"failoverdomain {name}")


def remove_failoverdomain(name, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<failoverdomain name=NAME>``."""
    return _remove(
        path, "rm/failoverdomains", "failoverdomain", "name", name, test, change_set,
        lambda e: {"name": name, **_fod_data(e)},
    )


# --------------------------------------------------------------------------- resources


def set_resource(
    type, name, attrs=None, path=DEFAULT_PATH, test=False, change_set=None
):  # pylint: disable=redefined-builtin
    """
    Ensure a global rgmanager resource ``<rm><resources><TYPE KEY=NAME attrs/>`` with
    exactly these attributes (KEY is ``address`` for ``ip``, ``name`` otherwise; agent
    defaults applied when comparing). Child elements of a global resource are not managed.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_resource ip 10.10.11.12 attrs='{sleeptime: 10}'
        salt '*' ccs.set_resource script opennebula attrs='{file: /etc/init.d/opennebula}'
    """
    tag = str(type)
    key = _resource_key(tag)
    desired = _clean_attrs(attrs)
    if key in desired and desired[key] != str(name):
        raise CommandExecutionError(
            f"resource {tag} {name}: attrs.{key}={desired[key]!r} contradicts the name"
        )
    desired[key] = str(name)

    def mutate(root, missing=False):
        rm = _child(root, "rm", CLUSTER_ORDER, create=True)
        res = _child(rm, "resources", RM_ORDER, create=True)
        elem = _find_by(res, tag, key, str(name))
        if elem is None:
            ET.SubElement(res, tag, dict(sorted(desired.items())))
            return {"old": None, "new": {"type": tag, **desired}}
        diff = _attr_diff(dict(elem.attrib), desired, DEFAULTS.get(tag))
        _apply_attr_diff(elem, diff)
        return diff

    return _edit(path, mutate, test=test, change_set=change_set, what=f"resource {tag} {name}")


def remove_resource(type, name, path=DEFAULT_PATH, test=False, change_set=None):  # pylint: disable=redefined-builtin
    """Remove the global resource ``<TYPE KEY=NAME>`` from ``<rm><resources>``."""
    tag = str(type)
    return _remove(
        path, "rm/resources", tag, _resource_key(tag), str(name), test, change_set,
        lambda e: {"type": tag, **e.attrib},
    )


# --------------------------------------------------------------------------- services


def set_service(
    name,
    attrs=None,
    resources=None,
    path=DEFAULT_PATH,
    test=False,
    change_set=None,
):
    """
    Ensure ``<rm><service name attrs>`` (exact attribute set, service.sh defaults applied
    when comparing: autostart=1, exclusive=0, recovery=restart...) and, when ``resources``
    is a list, exactly that ordered tree of sub-resources::

        [{"ip": {"ref": "10.10.11.12"}},
         {"fs": {"ref": "data", "children": [{"nfsexport": {"ref": "exp"}}]}},
         {"script": {"ref": "opennebula"}}]

    (``resources=None`` leaves the children alone.)

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_service opennebula attrs='{domain: opennebula, recovery: restart}' \\
            resources='[{ip: {ref: 10.10.11.12}}, {script: {ref: opennebula}}]'
    """
    desired = {**_clean_attrs(attrs), "name": name}
    want_tree = None if resources is None else _norm_tree(resources)

    def mutate(root, missing=False):
        rm = _child(root, "rm", CLUSTER_ORDER, create=True)
        elem = _find_by(rm, "service", "name", name)
        if elem is None:
            elem = ET.Element("service", dict(sorted(desired.items())))
            services = rm.findall("service")
            if services:
                rm.insert(list(rm).index(services[-1]) + 1, elem)
            else:
                _insert_ordered(rm, elem, RM_ORDER)
            _build_tree(elem, want_tree or [])
            new = dict(desired)
            new["resources"] = _tree_as_data(want_tree or [])
            return {"old": None, "new": new}
        changes = _attr_diff(dict(elem.attrib), desired, DEFAULTS["service"])
        _apply_attr_diff(elem, changes)
        if want_tree is not None:
            have = _elem_tree(elem)
            if _cmp_tree(have) != _cmp_tree(want_tree):
                changes["resources"] = {
                    "old": _tree_as_data(have),
                    "new": _tree_as_data(want_tree),
                }
                for kid in _elements(elem):
                    elem.remove(kid)
                _build_tree(elem, want_tree)
        return changes

    return _edit(path, mutate, test=test, change_set=change_set, what=f"service {name}")


def remove_service(name, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<rm><service name=NAME>``."""
    return _remove(
        path, "rm", "service", "name", name, test, change_set,
        lambda e: {**e.attrib, "resources": [_tree_to_data(k) for k in _elements(e)]},
    )


# --------------------------------------------------------------------------- fencing


def set_fencedevice(name, agent, attrs=None, path=DEFAULT_PATH, test=False, change_set=None):
    """
    Ensure ``<fencedevices><fencedevice name agent attrs/>`` with exactly these attributes
    (password-like attributes are reported as ``<hidden>``).

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_fencedevice libvirt-kvm fence_xvm \\
            attrs='{key_file: /etc/cluster/fence_xvm.key, multicast_address: 225.0.0.12, ipport: 1229}'
    """
    desired = {**_clean_attrs(attrs), "name": name, "agent": agent}

    def mutate(root, missing=False):
        fdevs = _child(root, "fencedevices", CLUSTER_ORDER, create=True)
        elem = _find_by(fdevs, "fencedevice", "name", name)
        if elem is None:
            ET.SubElement(fdevs, "fencedevice", dict(sorted(desired.items())))
            return {"old": None, "new": _hide(desired)}
        return _hide_changes(_apply_diff(elem, desired))

    return _edit(path, mutate, test=test, change_set=change_set, what=f"fencedevice {name}")


def _apply_diff(elem, desired, defaults=None):
    diff = _attr_diff(dict(elem.attrib), desired, defaults)
    _apply_attr_diff(elem, diff)
    return diff


def remove_fencedevice(name, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<fencedevice name=NAME>`` (fence instances that use it are left: remove
    them with :py:func:`remove_fence_method`)."""
    return _remove(
        path, "fencedevices", "fencedevice", "name", name, test, change_set,
        lambda e: _hide(dict(e.attrib)),
    )


def set_fence_method(
    node, method, device, attrs=None, path=DEFAULT_PATH, test=False, change_set=None
):
    """
    Ensure ``<clusternode name=NODE><fence><method name=METHOD><device name=DEVICE attrs/>``
    (``ccs --addmethod METHOD NODE`` + ``ccs --addfenceinst DEVICE NODE METHOD attrs``).
    The instance has exactly ``attrs``; other devices of the method are left alone. The node
    and (outside test mode) the fence device must exist.

    CLI Example:

    .. code-block:: bash

        salt '*' ccs.set_fence_method one-server1 libvirt-kvm libvirt-kvm attrs='{port: one1}'
    """
    desired = {**_clean_attrs(attrs), "name": device}

    def mutate(root, missing=False):
        nodes = _child(root, "clusternodes", CLUSTER_ORDER, create=True)
        elem = _find_by(nodes, "clusternode", "name", node)
        if elem is None:
            if not test:
                raise CommandExecutionError(
                    f"fence method {method}: node {node} is not in cluster.conf "
                    "(add it with ccs.node_present first)"
                )
            return {"old": None, "new": {"node": node, "method": method, "device": _hide(desired)}}
        if not test and _find_by(root.find("fencedevices"), "fencedevice", "name", device) is None:
            raise CommandExecutionError(
                f"fence method {method} of {node}: fence device {device} is not defined "
                "(add it with ccs.fencedev_present first)"
            )
        fence = _child(elem, "fence", NODE_ORDER, create=True)
        meth = _find_by(fence, "method", "name", method)
        if meth is None:
            meth = ET.SubElement(fence, "method", {"name": method})
        dev = _find_by(meth, "device", "name", device)
        if dev is None:
            ET.SubElement(meth, "device", dict(sorted(desired.items())))
            return {"old": None, "new": {"node": node, "method": method, "device": _hide(desired)}}
        return _hide_changes(_apply_diff(dev, desired))

    return _edit(path, mutate, test=test, change_set=change_set, what=f"fence method {method}")


def remove_fence_method(node, method, path=DEFAULT_PATH, test=False, change_set=None):
    """Remove ``<method name=METHOD>`` from the node's ``<fence>`` block."""

    def mutate(root, missing=False):
        elem = _find_by(root.find("clusternodes"), "clusternode", "name", node)
        fence = elem.find("fence") if elem is not None else None
        meth = _find_by(fence, "method", "name", method)
        if meth is None:
            return {}
        fence.remove(meth)
        return {
            "old": {"node": node, "method": method,
                    "devices": [_hide(dict(d.attrib)) for d in meth.findall("device")]},
            "new": None,
        }

    if _load(path) is None:
        return {"changes": {}, "config_version": None, "path": path, "test": bool(test)}
    return _edit(path, mutate, test=test, change_set=change_set)


# --------------------------------------------------------------------------- CLI


def _redactor(secrets):
    secrets = [s for s in secrets if s]

    def redact(text):
        if isinstance(text, (list, tuple)):
            return [redact(t) for t in text]
        if not isinstance(text, str):
            return text
        for secret in secrets:
            text = text.replace(secret, HIDDEN)
        return text

    return redact


def sync_activate(host=None, password=None, path=DEFAULT_PATH, raise_on_missing=False):
    """
    Propagate and activate the cluster configuration:

    * ``ccs -h HOST --sync --activate [-p PASSWORD]`` when ``ccs`` is installed
      (``HOST`` defaults to ``localhost``; ricci must run on the nodes), else
    * ``cman_tool version -r`` when only ``cman_tool`` is (it reloads the local file and
      asks ccs_sync/ricci to distribute it), else
    * ``{"result": False, "comment": "ccs/cman_tool not installed: ..."}`` (or
      ``CommandExecutionError`` with ``raise_on_missing=True``).

    The password is one argv element, never a shell string; it is replaced by
    ``<hidden>`` in the returned ``command``, the output and the logs.

    CLI Example:

    .. code-block:: bash

        salt one-server1 ccs.sync_activate host=one-server1 password=secret
    """
    redact = _redactor([password])
    if salt.utils.path.which("ccs"):
        argv = ["ccs", "-h", host or "localhost", "--sync", "--activate"]
        if password:
            argv += ["-p", password]
    elif salt.utils.path.which("cman_tool"):
        argv = ["cman_tool", "version", "-r"]
    else:
        if raise_on_missing:
            raise CommandExecutionError(NOT_INSTALLED)
        return {"result": False, "comment": NOT_INSTALLED, "command": None}
    shown = redact(argv)
    res = __salt__["cmd.run_all"](
        argv,
        python_shell=False,
        output_loglevel="quiet",
        log_callback=redact,
        ignore_retcode=True,
    )
    rc = res.get("retcode", 1)
    ret = {
        "result": rc == 0,
        "command": shown,
        "retcode": rc,
        "stdout": redact(res.get("stdout", "")),
        "stderr": redact(res.get("stderr", "")),
    }
    if rc == 0:
        ret["comment"] = f"{' '.join(shown)}: configuration version {get_version(path)} activated"
    else:
        ret["comment"] = f"{' '.join(shown)} failed (rc={rc}): {ret['stderr'] or ret['stdout']}"
    return ret


def validate(path=DEFAULT_PATH):
    """
    ``ccs_config_validate -f PATH`` (cluster.rng of the installed agents) when installed;
    ``{"result": None, ...}`` when it is not.
    """
    if not salt.utils.path.which("ccs_config_validate"):
        return {"result": None, "comment": "ccs_config_validate not installed"}
    res = __salt__["cmd.run_all"](
        ["ccs_config_validate", "-f", path], python_shell=False, ignore_retcode=True
    )
    return {
        "result": res.get("retcode") == 0,
        "comment": (res.get("stdout", "") + res.get("stderr", "")).strip(),
    }
