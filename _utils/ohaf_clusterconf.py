"""The Red Hat cluster suite's ``cluster.conf`` as a document (``__utils__["ohaf_clusterconf.*"]``).

Pure functions on ``xml.etree.ElementTree`` elements, no file, command or Salt dunder: the
``ccs`` module reads and writes the file (writing it with ``_utils/ohaf_clusterconf_write.py``),
the ``ccs`` states diff with :func:`diff`.

* :func:`parse` / :func:`version` / :func:`config_data`: the document and its data view;
* :func:`edit`: one edit per object the ``ccs`` module sets or removes (named after the
  module function, with its arguments), each the ``ccs`` command of the Red Hat cluster suite
  guide, run in place on a document; it returns the ``changes`` in the states' form: ``{}``,
  ``{"old": None, "new": {...}}`` (creation), ``{"old": {...}, "new": None}`` (removal) or
  ``{attr: {"old", "new"}}`` (update);
* :func:`diff`: the same on a copy of the document's text, in test mode (``strict=False``:
  a fence method may be diffed before its node and fence device exist; a write refuses).

Conventions (the guide's ``ccs`` commands and printed file):

* **Keys.** Nodes, failover domains, services and fence devices are keyed by ``name``;
  ``<rm><resources>`` children by their primary attribute: ``address`` for ``ip``, ``name``
  for every other rgmanager resource.
* **Defaults.** Attributes are compared with the agents' defaults applied (:data:`DEFAULTS`,
  from the rgmanager agents' meta-data and cluster.rng): an absent attribute equals its
  default. Boolean attributes read ``yes/on/true`` as ``1`` and ``no/off/false`` as ``0``.
  Values are written as given (``True``/``False`` become ``"1"``/``"0"``); an attribute not
  wanted any more is removed unless its value is the default anyway.
* **Order.** Sections are created where ccs writes them (:data:`ORDERS`); sections already
  present keep their position; unknown elements and comments are kept.
* **Secrets.** Fence attributes that name a secret are reported as ``<hidden>``: the caller
  passes ``mask``, ``ohaf_secret.mask_mapping`` (Salt 3008 gives ``_utils`` modules no
  ``__utils__`` of their own), applied with :data:`SECRET_EXTRA`.
"""
import collections
import xml.etree.ElementTree as ET

from salt.exceptions import CommandExecutionError

#: where ccs writes a parent's sections (the guide); unknown tags keep their position
ORDERS = {
    "cluster": ("fence_daemon", "clusternodes", "cman", "totem", "quorumd", "fence_xvmd", "dlm",
                "gfs_controld", "group", "logging", "fencedevices", "rm", "clvmd"),
    "rm": ("failoverdomains", "events", "resources", "resource-defaults", "service", "vm"),
    "clusternode": ("altname", "fence", "unfence"),
}
#: defaults applied before comparing (rgmanager agent meta-data / cluster.rng), by tag
DEFAULTS = {
    "clusternode": {"votes": "1"},
    "failoverdomain": {"ordered": "0", "restricted": "0", "nofailback": "0"},
    "service": {"autostart": "1", "exclusive": "0", "hardrecovery": "0", "nfslock": "0",
                "recovery": "restart", "depend_mode": "hard", "max_restarts": "0",
                "restart_expire_time": "0"},
    "ip": {"monitor_link": "1"},
}
BOOL_ATTRS = frozenset(("ordered", "restricted", "nofailback", "autostart", "exclusive",
                        "hardrecovery", "nfslock", "monitor_link", "two_node"))
#: primary attribute of a resource element (rgmanager ``primary="1"`` parameter)
PRIMARY_ATTR = {"ip": "address"}
#: secret fence attributes ohaf_secret's spelling rule does not catch (SNMP community)
SECRET_EXTRA = ("community",)

#: what an edit works on: the root, whether the file was missing, test mode or not, and
#: ``hide(attrs)`` (secret values as ``<hidden>``)
_Doc = collections.namedtuple("_Doc", "root missing strict hide")


# --------------------------------------------------------------------------- values


def _to_str(value):
    """A value as it is written to the file (``True`` -> ``"1"``)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _norm(attr, value):
    """A value as it is compared."""
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


def _clean(attrs):
    """``attrs`` without unset values and Salt's private kwargs, values as strings."""
    return {str(k): _to_str(v) for k, v in (attrs or {}).items()
            if not str(k).startswith("__") and v is not None}


def _sync_attrs(elem, desired):
    """Give ``elem`` exactly the ``desired`` attributes (the agent defaults of its tag
    applied when comparing); returns ``{attr: {"old", "new"}}`` for those that changed."""
    defaults = DEFAULTS.get(elem.tag, {})
    changes = {}
    for key in sorted(set(elem.attrib) | set(desired)):
        old, new = elem.get(key), desired.get(key)
        if _norm(key, old if old is not None else defaults.get(key)) != \
                _norm(key, new if new is not None else defaults.get(key)):
            changes[key] = {"old": old, "new": new}
    for key, chg in changes.items():
        if chg["new"] is None:
            elem.attrib.pop(key, None)
        else:
            elem.set(key, _to_str(chg["new"]))
    return changes


def _hide_diff(diff, hide):
    """An attribute diff with the secret attributes' old/new values hidden."""
    return {k: {side: hide({k: c[side]})[k] for side in ("old", "new")} for k, c in diff.items()}


# --------------------------------------------------------------------------- elements


def _elements(parent):
    return [e for e in list(parent) if isinstance(e.tag, str)]


def _insert_ordered(parent, child):
    """Insert ``child`` before the first known sibling that ccs writes after it."""
    order = ORDERS.get(parent.tag, ())
    if child.tag in order:
        rank = order.index(child.tag)
        for idx, sib in enumerate(list(parent)):
            if isinstance(sib.tag, str) and sib.tag in order and order.index(sib.tag) > rank:
                parent.insert(idx, child)
                return child
    parent.append(child)
    return child


def _section(parent, path):
    """The element at ``path`` (``"rm/resources"``), each missing step created where ccs
    puts it."""
    for tag in path.split("/"):
        found = parent.find(tag)
        parent = found if found is not None else _insert_ordered(parent, ET.Element(tag))
    return parent


def _find(parent, tag, attr, value):
    """The ``<tag attr=value>`` child of ``parent`` (None when absent or no parent)."""
    if parent is None:
        return None
    for elem in parent.findall(tag):
        if elem.get(attr) == value:
            return elem
    return None


def _upsert(parent, tag, key, value, desired):
    """Create ``<tag key=value desired/>`` (returns None) or give the existing one exactly
    ``desired`` (returns its attribute changes)."""
    elem = _find(parent, tag, key, value)
    if elem is None:
        ET.SubElement(parent, tag, dict(sorted(desired.items())))
        return None
    return _sync_attrs(elem, desired)


def _remove(parent, tag, key, value, data):
    """Remove ``<tag key=value>`` from ``parent``; the removal reports ``data(elem)``."""
    elem = _find(parent, tag, key, value)
    if elem is None:
        return {}
    old = data(elem)
    parent.remove(elem)
    return {"old": old, "new": None}


# --------------------------------------------------------------------------- resource trees


def _tree_to_data(elem):
    """``<ip ref="x"><fs .../></ip>`` -> ``{"ip": {"ref": "x", "children": [...]}}``."""
    attrs = dict(elem.attrib)
    kids = _elements(elem)
    if kids:
        attrs["children"] = [_tree_to_data(k) for k in kids]
    return {elem.tag: attrs}


def _norm_tree(items, where="resources"):
    """A desired sub-resource list as ``[(tag, {attrs}, [children])]``."""
    out = []
    for item in items or []:
        if not isinstance(item, dict) or len(item) != 1:
            raise CommandExecutionError(
                f"{where}: each entry must be a one-key mapping {{type: {{attrs}}}}, got {item!r}"
            )
        tag, attrs = next(iter(item.items()))
        attrs = dict(attrs or {})
        children = attrs.pop("children", None)
        out.append((str(tag), _clean(attrs), _norm_tree(children, f"{where}.{tag}")))
    return out


def _elem_tree(elem):
    return [(k.tag, dict(k.attrib), _elem_tree(k)) for k in _elements(elem)]


def _cmp_tree(tree):
    return [(tag, {k: _norm(k, v) for k, v in attrs.items()}, _cmp_tree(kids))
            for tag, attrs, kids in tree]


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
        _build_tree(ET.SubElement(parent, tag, dict(sorted(attrs.items()))), kids)


# --------------------------------------------------------------------------- document


def parse(data, path):
    """The ``<cluster>`` root of ``data`` (bytes or text, comments kept), None when blank;
    ``path`` names the file in errors."""
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


def _skeleton():
    """What ``ccs --createcluster`` writes (the name comes with the cluster edit)."""
    root = ET.Element("cluster", {"config_version": "0", "name": ""})
    for tag in ("fence_daemon", "clusternodes", "cman", "fencedevices"):
        ET.SubElement(root, tag)
    rm = ET.SubElement(root, "rm")
    ET.SubElement(rm, "failoverdomains")
    ET.SubElement(rm, "resources")
    return root


def version(root):
    """``config_version`` of the document (0 when unset or not a number)."""
    try:
        return int(root.get("config_version", "0"))
    except (TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------- data view


def _node_data(elem, hide):
    data = {k: v for k, v in elem.attrib.items() if k != "name"}
    fence = elem.find("fence")
    if fence is not None:
        data["fence"] = {m.get("name"): [hide(dict(d.attrib)) for d in m.findall("device")]
                         for m in fence.findall("method")}
    return data


def _fod_data(elem):
    data = {k: v for k, v in elem.attrib.items() if k != "name"}
    data["nodes"] = {n.get("name"): n.get("priority") for n in elem.findall("failoverdomainnode")}
    return data


def _service_data(elem):
    return {**{k: v for k, v in elem.attrib.items() if k != "name"},
            "resources": [_tree_to_data(k) for k in _elements(elem)]}


def _hider(mask):
    return lambda attrs: mask(attrs, SECRET_EXTRA, 1)


def config_data(root, mask):
    """The document as the data ``ccs.get_config`` returns (``{}`` for None), fence secrets
    hidden with ``mask`` (``ohaf_secret.mask_mapping``)."""
    if root is None:
        return {}
    hide = _hider(mask)

    def attrs_of(tag):
        elem = root.find(tag)
        return dict(elem.attrib) if elem is not None else None

    def named(path, tag, data):
        parent = root.find(path)
        return {e.get("name"): data(e) for e in parent.findall(tag)} if parent is not None else {}

    res = root.find("rm/resources")
    return {
        "name": root.get("name"),
        "config_version": version(root),
        "cman": attrs_of("cman"),
        "fence_daemon": attrs_of("fence_daemon"),
        "rm": attrs_of("rm"),
        "nodes": named("clusternodes", "clusternode", lambda e: _node_data(e, hide)),
        "fencedevices": named("fencedevices", "fencedevice",
                              lambda e: hide({k: v for k, v in e.attrib.items() if k != "name"})),
        "failoverdomains": named("rm/failoverdomains", "failoverdomain", _fod_data),
        "resources": [_tree_to_data(r) for r in _elements(res)] if res is not None else [],
        "services": named("rm", "service", _service_data),
    }


# --------------------------------------------------------------------------- edits


def _set_cluster(doc, name, cman=None, fence_daemon=None, rm=None, config_version=None):
    """``ccs --createcluster NAME``: the skeleton, the exact attribute sets of ``<cman>``,
    ``<fence_daemon>`` and ``<rm>`` when given, ``config_version`` as a floor."""
    if not name:
        raise CommandExecutionError("cluster name must not be empty")
    root, changes = doc.root, {}
    if root.get("name") != name:
        changes["name"] = {"old": root.get("name") or None, "new": name}
        root.set("name", name)
    wanted = (("fence_daemon", fence_daemon), ("cman", cman), ("clusternodes", None),
              ("fencedevices", None), ("rm", rm))
    for tag, want in wanted:
        elem = _section(root, tag)
        if want is not None:
            changes.update({f"{tag}.{k}": v for k, v in _sync_attrs(elem, _clean(want)).items()})
    if config_version is not None and version(root) < int(config_version):
        changes["config_version"] = {"old": version(root), "new": int(config_version)}
    if doc.missing:
        new = {"name": name}
        new.update({k: _clean(v) for k, v in (("cman", cman), ("fence_daemon", fence_daemon),
                                               ("rm", rm)) if v is not None})
        return {"old": None, "new": new}
    return changes


def _set_node(doc, name, nodeid, votes=None, attrs=None):
    """``ccs --addnode NAME --nodeid N [--votes V]``; the ``<fence>`` block is left alone."""
    try:
        nodeid = int(nodeid)
        if nodeid < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise CommandExecutionError(f"node {name}: nodeid must be a positive integer")
    desired = {"name": name, "nodeid": str(nodeid), **_clean(attrs)}
    if votes is not None:
        desired["votes"] = _to_str(votes)
    nodes = _section(doc.root, "clusternodes")
    for other in nodes.findall("clusternode"):
        if other.get("name") != name and other.get("nodeid") == str(nodeid):
            raise CommandExecutionError(
                f"node {name}: nodeid {nodeid} already used by {other.get('name')}"
            )
    diff = _upsert(nodes, "clusternode", "name", name, desired)
    return {"old": None, "new": desired} if diff is None else diff


def _remove_node(doc, name):
    return _remove(doc.root.find("clusternodes"), "clusternode", "name", name,
                   lambda e: {"name": name, **_node_data(e, doc.hide)})


def _fod_nodes(nodes):
    """``{node: priority}`` (strings) from a mapping, or a list of names and mappings."""
    if isinstance(nodes, (list, tuple)):
        out = {}
        for item in nodes:
            out.update(item if isinstance(item, dict) else {item: None})
        nodes = out
    return {str(k): (None if v is None else _to_str(v)) for k, v in (nodes or {}).items()}


def _set_failoverdomain(doc, name, ordered=False, restricted=False, nofailback=False,
                        nodes=None):
    """``ccs --addfailoverdomain``: the three flags always written, exactly ``nodes``."""
    flags = {"name": name, "nofailback": _to_str(nofailback), "ordered": _to_str(ordered),
             "restricted": _to_str(restricted)}
    want = _fod_nodes(nodes)
    fods = _section(doc.root, "rm/failoverdomains")
    elem = _find(fods, "failoverdomain", "name", name)
    if elem is None:
        elem = ET.SubElement(fods, "failoverdomain", flags)
        changes, have = {"old": None, "new": {**flags, "nodes": want}}, None
    else:
        changes = _sync_attrs(elem, flags)
        have = {n.get("name"): n.get("priority") for n in elem.findall("failoverdomainnode")}
        if have != want:
            changes["nodes"] = {"old": have, "new": want}
    if have != want:
        for old in elem.findall("failoverdomainnode"):
            elem.remove(old)
        for node, prio in want.items():
            attrs = {"name": node} if prio is None else {"name": node, "priority": prio}
            ET.SubElement(elem, "failoverdomainnode", attrs)
    return changes


def _remove_failoverdomain(doc, name):
    return _remove(doc.root.find("rm/failoverdomains"), "failoverdomain", "name", name,
                   lambda e: {"name": name, **_fod_data(e)})


def _set_resource(doc, type, name, attrs=None):  # pylint: disable=redefined-builtin
    """``ccs --addresource TYPE KEY=NAME attrs``: exactly these attributes."""
    tag, key = str(type), PRIMARY_ATTR.get(str(type), "name")
    desired = _clean(attrs)
    if key in desired and desired[key] != str(name):
        raise CommandExecutionError(
            f"resource {tag} {name}: attrs.{key}={desired[key]!r} contradicts the name"
        )
    desired[key] = str(name)
    diff = _upsert(_section(doc.root, "rm/resources"), tag, key, str(name), desired)
    return {"old": None, "new": {"type": tag, **desired}} if diff is None else diff


def _remove_resource(doc, type, name):  # pylint: disable=redefined-builtin
    tag = str(type)
    return _remove(doc.root.find("rm/resources"), tag, PRIMARY_ATTR.get(tag, "name"), str(name),
                   lambda e: {"type": tag, **e.attrib})


def _set_service(doc, name, attrs=None, resources=None):
    """``ccs --addservice NAME attrs`` + ``--addsubservice``: exactly these attributes and,
    unless ``resources`` is None, exactly that ordered tree of sub-resources."""
    desired = {**_clean(attrs), "name": name}
    want = None if resources is None else _norm_tree(resources)
    rm = _section(doc.root, "rm")
    elem = _find(rm, "service", "name", name)
    if elem is None:
        elem = ET.Element("service", dict(sorted(desired.items())))
        services = rm.findall("service")
        if services:
            rm.insert(list(rm).index(services[-1]) + 1, elem)
        else:
            _insert_ordered(rm, elem)
        _build_tree(elem, want or [])
        return {"old": None, "new": {**desired, "resources": _tree_as_data(want or [])}}
    changes = _sync_attrs(elem, desired)
    have = _elem_tree(elem)
    if want is not None and _cmp_tree(have) != _cmp_tree(want):
        changes["resources"] = {"old": _tree_as_data(have), "new": _tree_as_data(want)}
        for kid in _elements(elem):
            elem.remove(kid)
        _build_tree(elem, want)
    return changes


def _remove_service(doc, name):
    return _remove(doc.root.find("rm"), "service", "name", name,
                   lambda e: {"name": name, **_service_data(e)})


def _set_fencedevice(doc, name, agent, attrs=None):
    """``ccs --addfencedev NAME agent=AGENT attrs``: exactly these attributes."""
    desired = {**_clean(attrs), "name": name, "agent": agent}
    diff = _upsert(_section(doc.root, "fencedevices"), "fencedevice", "name", name, desired)
    return {"old": None, "new": doc.hide(desired)} if diff is None else _hide_diff(diff, doc.hide)


def _remove_fencedevice(doc, name):
    return _remove(doc.root.find("fencedevices"), "fencedevice", "name", name,
                   lambda e: doc.hide(dict(e.attrib)))


def _set_fence_method(doc, node, method, device, attrs=None):
    """``ccs --addmethod METHOD NODE`` + ``--addfenceinst DEVICE NODE METHOD attrs``: the
    instance has exactly ``attrs``; other devices of the method are left alone."""
    desired = {**_clean(attrs), "name": device}
    created = {"old": None,
               "new": {"node": node, "method": method, "device": doc.hide(desired)}}
    elem = _find(_section(doc.root, "clusternodes"), "clusternode", "name", node)
    if elem is None:
        if doc.strict:
            raise CommandExecutionError(
                f"fence method {method}: node {node} is not in cluster.conf "
                "(add it with ccs.node_present first)"
            )
        return created
    if doc.strict and _find(doc.root.find("fencedevices"), "fencedevice", "name", device) is None:
        raise CommandExecutionError(
            f"fence method {method} of {node}: fence device {device} is not defined "
            "(add it with ccs.fencedev_present first)"
        )
    fence = _section(elem, "fence")
    meth = _find(fence, "method", "name", method)
    if meth is None:
        meth = ET.SubElement(fence, "method", {"name": method})
    diff = _upsert(meth, "device", "name", device, desired)
    return created if diff is None else _hide_diff(diff, doc.hide)


def _remove_fence_method(doc, node, method):
    elem = _find(doc.root.find("clusternodes"), "clusternode", "name", node)
    return _remove(elem.find("fence") if elem is not None else None, "method", "name", method,
                   lambda m: {"node": node, "method": method,
                              "devices": [doc.hide(dict(d.attrib)) for d in m.findall("device")]})


_EDITS = {f.__name__[1:]: f for f in (
    _set_cluster, _set_node, _remove_node, _set_failoverdomain, _remove_failoverdomain,
    _set_resource, _remove_resource, _set_service, _remove_service, _set_fencedevice,
    _remove_fencedevice, _set_fence_method, _remove_fence_method)}


def edit(root, func, args, mask, strict=True):
    """Run the edit ``func`` (a ``ccs`` module function name: ``set_service``...) with its
    ``args`` on ``root`` in place; a missing document (None) starts as the ccs skeleton.
    ``mask`` is ``ohaf_secret.mask_mapping``. Returns ``(changes, root)``."""
    if func not in _EDITS:
        raise CommandExecutionError(f"cluster.conf: no edit named {func}")
    doc = _Doc(_skeleton() if root is None else root, root is None, strict, _hider(mask))
    return _EDITS[func](doc, **args), doc.root


def diff(text, func, args, mask, path="cluster.conf"):
    """The changes the edit ``func`` would make to the document ``text`` (None: no file
    yet), in test mode; nothing is written anywhere."""
    root = parse(text, path) if text is not None else None
    return edit(root, func, args, mask, strict=False)[0]
