"""Pure logic of the linstor module and states (``__utils__["ohaf_linstor.*"]``).

No python-linstor call and no Salt dunder here (Salt's utils loader gives a util no
``__utils__``): the module hands in the library's objects and functions, the states their
arguments.

* controllers: where the controller list comes from (argument, ``LS_CONTROLLERS``,
  ``linstor-client.conf``, localhost), as the ``linstor`` client resolves it;
* names: storage pool drivers (CLI spellings -> REST ``provider_kind``), node and
  communication types, properties as LINSTOR stores them (strings, ``true``/``false``);
* parsing: python-linstor's response objects -> the plain dicts the module returns;
* desired state: what a state asks for (``*_want``), what it would create (``*_new``), what
  it refuses to change (``*_problem``: a registered node's type, a pool's driver or backing
  pool), and the diff of an existing object (``*_diff``; properties per key, as LINBIT's
  ansible-linstor-collection compares them: only the keys the state names).

    >>> normalize_driver("lvmthin"), node_type("combined")
    ('LVM_THIN', 'Combined')
"""
import configparser
import os

from salt.exceptions import CommandExecutionError

DEFAULT_CONTROLLER = "linstor://localhost"
# CLI spellings (``linstor storage-pool create lvmthin ...``) -> REST provider_kind
DRIVER_ALIASES = {
    "lvm": "LVM",
    "lvmthin": "LVM_THIN",
    "lvm_thin": "LVM_THIN",
    "zfs": "ZFS",
    "zfsthin": "ZFS_THIN",
    "zfs_thin": "ZFS_THIN",
    "file": "FILE",
    "filethin": "FILE_THIN",
    "file_thin": "FILE_THIN",
    "diskless": "DISKLESS",
    "spdk": "SPDK",
    "remote_spdk": "REMOTE_SPDK",
    "storage_spaces": "STORAGE_SPACES",
    "storage_spaces_thin": "STORAGE_SPACES_THIN",
    "ebs_target": "EBS_TARGET",
    "ebs_init": "EBS_INIT",
}
DISKLESS_DRIVERS = ("DISKLESS", "EBS_INIT")
NODE_TYPES = ("Controller", "Satellite", "Combined", "Auxiliary")
COMM_TYPES = ("Plain", "SSL")
NODE_TYPE_ERROR = "node_type '{value}' is invalid; allowed: {allowed}"
COMM_TYPE_ERROR = "comm_type '{value}' is invalid; allowed: {allowed}"
REFUSE_RECREATE = ("refusing to delete and recreate it (that would drop its volumes): "
                   "migrate it by hand or change the state")


# --------------------------------------------------------------------------- controllers
def controller_source(controllers=None, env=None, conf_path=None):
    """The controller list as one string, first hit wins: ``controllers`` (a string
    ``"a,b"`` or a list), ``env`` (``LS_CONTROLLERS``), ``[global] controllers=`` of the
    client conf at ``conf_path``, ``linstor://localhost``. python-linstor's
    ``MultiLinstor.controller_uri_list`` turns it into URIs."""
    source = controllers
    if isinstance(source, (list, tuple)):
        source = ",".join(str(c).strip() for c in source if str(c).strip())
    if not source:
        source = (env or "").strip()
    if not source and conf_path:
        source = _controllers_from_conf(conf_path)
    return str(source or DEFAULT_CONTROLLER).replace(" ", "")


def _controllers_from_conf(path):
    if not os.path.isfile(path):
        return ""
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise CommandExecutionError(f"linstor: cannot parse {path}: {exc}")
    return parser.get("global", "controllers", fallback="").strip()


# --------------------------------------------------------------------------- names
def normalize_driver(driver, known=()):
    """``lvmthin`` / ``LVM_THIN`` / ``LvmThin`` -> ``LVM_THIN`` (REST provider_kind);
    ``known``: python-linstor's own list, for kinds newer than the aliases."""
    if driver is None:
        raise CommandExecutionError("linstor: a storage pool driver is required")
    key = str(driver).strip().lower()
    kind = DRIVER_ALIASES.get(key) or DRIVER_ALIASES.get(key.replace("-", "_"))
    if kind is None and str(driver).upper() in known:
        kind = str(driver).upper()
    if kind is None:
        raise CommandExecutionError(
            f"linstor: unknown storage pool driver '{driver}'; allowed: "
            + ", ".join(sorted(set(DRIVER_ALIASES.values())))
        )
    return kind


def is_diskless(kind):
    """A driver without backing storage (no ``driver_pool``)."""
    return kind in DISKLESS_DRIVERS


def _pick(value, allowed, error):
    for known in allowed:
        if str(value).lower() == known.lower():
            return known
    raise CommandExecutionError(error.format(value=value, allowed=", ".join(allowed)))


def node_type(value, error=NODE_TYPE_ERROR):
    """``combined`` -> ``Combined``; an unknown type raises ``error`` (formatted with
    ``value`` and ``allowed``)."""
    return _pick(value, NODE_TYPES, error)


def comm_type(value, error=COMM_TYPE_ERROR):
    """``plain`` -> ``Plain``, ``ssl`` -> ``SSL``; else ``error`` as for ``node_type``."""
    return _pick(value, COMM_TYPES, error)


def _title(value):
    """The controller reports ``SATELLITE``/``PLAIN``; present ``Satellite``/``Plain``."""
    if value is None:
        return None
    for known in NODE_TYPES + COMM_TYPES:
        if str(value).lower() == known.lower():
            return known
    return str(value)


def prop_value(value):
    """A property value as LINSTOR stores it (YAML true/false -> ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def str_props(properties):
    """``{key: value}`` with string keys and LINSTOR values; None/empty -> ``{}``."""
    if not properties:
        return {}
    if not isinstance(properties, dict):
        raise CommandExecutionError("linstor: properties must be a mapping of key: value")
    return {str(k): prop_value(v) for k, v in properties.items()}


def pool_list(storage_pool, sort=False):
    """A resource group's ``storage_pool`` (``"a,b"`` or a list) as a list; None stays None."""
    if storage_pool is None:
        return None
    if isinstance(storage_pool, str):
        pools = [p.strip() for p in storage_pool.split(",") if p.strip()]
    else:
        pools = [str(p) for p in storage_pool]
    return sorted(pools) if sort else pools


# --------------------------------------------------------------------------- parsing
def node_dict(node):
    """python-linstor ``Node`` -> ``{name, node_type, address, port, comm_type, interface,
    connection_status, properties, flags}`` (address/port of the ``default`` interface)."""
    netifs = node.net_interfaces
    default = next((n for n in netifs if n.name == "default"), netifs[0] if netifs else None)
    return {
        "name": node.name,
        "node_type": _title(node.type),
        "address": default.address if default else None,
        "port": default.stlt_port if default else None,
        "comm_type": _title(default.stlt_encryption_type) if default else None,
        "interface": default.name if default else None,
        "connection_status": node.connection_status,
        "properties": dict(node.properties),
        "flags": list(node.flags),
    }


def pool_dict(pool, driver_pool_of):
    """python-linstor ``StoragePool`` -> ``{name, node, driver, driver_pool, properties,
    free_capacity, total_capacity}``; ``driver_pool_of(kind, props)`` is python-linstor's
    ``StoragePoolDriver.storage_props_to_driver_pool`` (knows the pre-1.2.0 props)."""
    kind = pool.provider_kind
    props = dict(pool.properties)
    driver_pool = None if is_diskless(kind) else (driver_pool_of(kind, props) or None)
    space = pool.free_space
    return {
        "name": pool.name,
        "node": pool.node_name,
        "driver": kind,
        "driver_pool": driver_pool,
        "properties": props,
        "free_capacity": space.free_capacity if space else None,
        "total_capacity": space.total_capacity if space else None,
    }


def rg_dict(rg):
    """python-linstor ``ResourceGroup`` -> ``{name, description, place_count, storage_pool
    (sorted list), diskless_on_remaining, properties}``."""
    sf = rg.select_filter
    return {
        "name": rg.name,
        "description": rg.description or "",
        "place_count": sf.place_count,
        "storage_pool": sorted(sf.storage_pool_list or []),
        "diskless_on_remaining": bool(sf.diskless_on_remaining),
        "properties": dict(rg.properties),
    }


def reply_errors(replies):
    """The error texts of a python-linstor reply list (message, cause, details), ``[]``
    when every reply is a success."""
    msgs = []
    for err in replies:
        if not (hasattr(err, "is_error") and err.is_error()):
            continue
        msg = err.message or ""
        if err.cause:
            msg += f" ({err.cause})"
        if err.details:
            msg += f" {err.details}"
        msgs.append(msg.strip())
    return msgs


def merge_fresh(have, fresh, written):
    """Replace in the cached list ``have`` (``{name: ...}``) the ``written`` objects by their
    ``fresh`` re-read (names compare case-insensitively, as LINSTOR's do); returns ``have``."""
    gone = {str(n).lower() for n in written}
    for name in [k for k in have if str(k).lower() in gone]:
        del have[name]
    have.update(fresh)
    return have


# --------------------------------------------------------------------------- properties
def props_diff(current, properties, delete_properties):
    """``{"old": {...}, "new": {...}}`` over the differing keys only (a deleted key's new
    value is None), or ``{}``. Keys the state does not name are left alone."""
    current = current or {}
    old, new = {}, {}
    for key, value in (properties or {}).items():
        value = prop_value(value)
        if current.get(key) != value:
            old[key] = current.get(key)
            new[key] = value
    for key in delete_properties or []:
        if key in current:
            old[key] = current[key]
            new[key] = None
    return {"old": old, "new": new} if new else {}


def props_split(prop_diff):
    """A ``props_diff`` as the write wants it: ``({key: value} to set, [keys] to delete)``."""
    new = (prop_diff or {}).get("new", {})
    return ({k: v for k, v in new.items() if v is not None},
            [k for k, v in new.items() if v is None])


def _with_props(diff, current, want):
    prop_diff = props_diff(current.get("properties"), want.get("properties"),
                           want.get("delete_properties"))
    if prop_diff:
        diff["properties"] = prop_diff
    return diff


def _new(want, keys):
    new = {k: want[k] for k in keys if want.get(k) is not None}
    if want.get("properties"):
        new["properties"] = str_props(want["properties"])
    return new


# --------------------------------------------------------------------------- nodes
def node_want(address, node_type, port, comm_type, properties, delete_properties):
    """A node state's arguments, checked and spelled as the controller reports them."""
    return {
        "address": address,
        "node_type": _pick(node_type, NODE_TYPES, NODE_TYPE_ERROR),
        "comm_type": _pick(comm_type, COMM_TYPES, COMM_TYPE_ERROR),
        "port": int(port) if port is not None else None,
        "properties": properties,
        "delete_properties": delete_properties,
    }


def node_new(want):
    return _new(want, ("address", "node_type", "comm_type", "port"))


def node_problem(name, current, want):
    """The refusal when a registered node has another type (never changed silently)."""
    if str(current.get("node_type")).lower() == want["node_type"].lower():
        return None
    return (f"Node {name} is registered as {current['node_type']}, the state wants "
            f"{want['node_type']}; refusing to change a registered node's type (do it "
            "deliberately with `linstor node modify --node-type` or delete and re-register "
            "the node)")


def node_diff(current, want):
    """Address, port (when given), communication type and the named properties."""
    diff = {}
    if current.get("address") != want["address"]:
        diff["address"] = {"old": current.get("address"), "new": want["address"]}
    if want["port"] is not None and current.get("port") != want["port"]:
        diff["port"] = {"old": current.get("port"), "new": want["port"]}
    if str(current.get("comm_type") or "").lower() != want["comm_type"].lower():
        diff["comm_type"] = {"old": current.get("comm_type"), "new": want["comm_type"]}
    return _with_props(diff, current, want)


# --------------------------------------------------------------------------- storage pools
def pool_want(node, driver, driver_pool, properties, delete_properties):
    """A storage pool state's arguments; ``driver`` already normalised. A diskful driver
    needs its backing pool, a diskless one has none."""
    if not is_diskless(driver) and not driver_pool:
        raise CommandExecutionError(
            f"driver {driver} needs driver_pool (e.g. linstorpool/thin_image)")
    return {"node": node, "driver": driver,
            "driver_pool": None if is_diskless(driver) else driver_pool,
            "properties": properties, "delete_properties": delete_properties}


def pool_new(want):
    return dict(_new(want, ()), node=want["node"], driver=want["driver"],
                driver_pool=want["driver_pool"])


def pool_problem(name, current, want):
    """The refusal when an existing pool has another driver or backing pool: recreating
    it would drop its volumes."""
    where = f"Storage pool {name} on node {want['node']}"
    if current["driver"] != want["driver"]:
        return (f"{where} exists with driver {current['driver']}, the state wants "
                f"{want['driver']}; {REFUSE_RECREATE}")
    if not is_diskless(want["driver"]) and \
            (current.get("driver_pool") or None) != (want["driver_pool"] or None):
        return (f"{where} exists on backing pool {current.get('driver_pool')}, the state "
                f"wants {want['driver_pool']}; {REFUSE_RECREATE}")
    return None


def pool_diff(current, want):
    """An existing pool: only the properties the state names."""
    return _with_props({}, current, want)


# --------------------------------------------------------------------------- resource groups
RG_FIELDS = ("place_count", "storage_pool", "diskless_on_remaining", "description")


def rg_want(place_count, storage_pool, diskless_on_remaining, description, properties,
            delete_properties):
    """A resource group state's arguments (None: not managed); pools as a sorted list."""
    return {
        "place_count": int(place_count) if place_count is not None else None,
        "storage_pool": pool_list(storage_pool, sort=True),
        "diskless_on_remaining": (bool(diskless_on_remaining)
                                  if diskless_on_remaining is not None else None),
        "description": description,
        "properties": properties,
        "delete_properties": delete_properties,
    }


def rg_new(want):
    return _new(want, RG_FIELDS)


def rg_diff(current, want):
    """The managed fields that differ (pools compared as a set) and the named properties."""
    have = dict(current, storage_pool=sorted(current.get("storage_pool") or []),
                description=current.get("description") or "",
                diskless_on_remaining=bool(current.get("diskless_on_remaining")))
    diff = {k: {"old": current.get(k), "new": want[k]} for k in RG_FIELDS
            if want[k] is not None and have.get(k) != want[k]}
    return _with_props(diff, current, want)


def rg_modify_args(changes):
    """The ``resource_group_modify`` keyword arguments of a ``rg_diff``: only what differs."""
    to_set, to_delete = props_split(changes.get("properties"))
    args = {k: changes[k]["new"] if k in changes else None for k in RG_FIELDS}
    return dict(args, properties=to_set, delete_properties=to_delete)
