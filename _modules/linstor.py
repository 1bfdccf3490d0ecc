"""LINSTOR execution module: nodes, storage pools, resource groups, controller properties.

Talks to the LINSTOR controller's REST API through python-linstor (``import linstor``, the
real client library; this file is loaded by Salt under its own name and never shadows it).

Controller resolution (first hit wins):
  1. the ``controllers`` argument (``"ctrl-a,ctrl-b"``, ``"linstor://ctrl-a:3370"`` or a list)
  2. environment ``LS_CONTROLLERS``
  3. ``/etc/linstor/linstor-client.conf`` ``[global] controllers=``
  4. ``linstor://localhost``

Reads are cached in ``__context__`` per controller set for the run: one
``GET /v1/view/storage-pools`` serves every per-node pool read. A write invalidates only the
objects it touched (the written node's pools, the written node, the written resource group);
the next read of those objects fetches them with a filtered list request, so a run that
creates 400 pools does not re-download the whole pool list 400 times.
"""
import configparser
import logging
import os

from salt.exceptions import CommandExecutionError

try:
    import linstor  # python-linstor, the client library

    HAS_LINSTOR = hasattr(linstor, "MultiLinstor")
except ImportError:  # pragma: no cover - depends on the minion
    linstor = None
    HAS_LINSTOR = False

log = logging.getLogger(__name__)

__virtualname__ = "linstor"

CLIENT_CONF = "/etc/linstor/linstor-client.conf"
DEFAULT_CONTROLLER = "linstor://localhost"
TIMEOUT = 60
CTX = "linstor.cache"
STOR_POOL_NAME_PROP = "StorDriver/StorPoolName"

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


def __virtual__():
    if not HAS_LINSTOR:
        return (False, "linstor: python-linstor (import linstor) is not installed")
    return __virtualname__


# --------------------------------------------------------------------------- helpers
def resolve_controllers(controllers=None):
    """Return the controller URI list, resolved as documented in the module docstring.

    CLI Example:

    .. code-block:: bash

        salt-call linstor.resolve_controllers
        salt-call linstor.resolve_controllers controllers=10.0.0.1,10.0.0.2
    """
    source = controllers
    if isinstance(source, (list, tuple)):
        source = ",".join(str(c).strip() for c in source if str(c).strip())
    if not source:
        source = os.environ.get("LS_CONTROLLERS", "").strip()
    if not source:
        source = _controllers_from_conf(CLIENT_CONF)
    if not source:
        source = DEFAULT_CONTROLLER
    return linstor.MultiLinstor.controller_uri_list(str(source).replace(" ", ""))


def _controllers_from_conf(path):
    if not os.path.isfile(path):
        return ""
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except configparser.Error as exc:
        raise CommandExecutionError(f"linstor: cannot parse {path}: {exc}")
    return parser.get("global", "controllers", fallback="").strip()


def normalize_driver(driver):
    """``lvmthin`` / ``LVM_THIN`` / ``LvmThin`` -> ``LVM_THIN`` (REST provider_kind)."""
    if driver is None:
        raise CommandExecutionError("linstor: a storage pool driver is required")
    key = str(driver).strip().lower()
    kind = DRIVER_ALIASES.get(key) or DRIVER_ALIASES.get(key.replace("-", "_"))
    if kind is None and str(driver).upper() in linstor.StoragePoolDriver.list():
        kind = str(driver).upper()
    if kind is None:
        raise CommandExecutionError(
            f"linstor: unknown storage pool driver '{driver}'; allowed: "
            + ", ".join(sorted(set(DRIVER_ALIASES.values())))
        )
    return kind


def _node_type(node_type):
    for known in NODE_TYPES:
        if str(node_type).lower() == known.lower():
            return known
    raise CommandExecutionError(
        f"linstor: unknown node type '{node_type}'; allowed: {', '.join(NODE_TYPES)}"
    )


def _comm_type(comm_type):
    for known in COMM_TYPES:
        if str(comm_type).lower() == known.lower():
            return known
    raise CommandExecutionError(
        f"linstor: unknown communication type '{comm_type}'; allowed: {', '.join(COMM_TYPES)}"
    )


def _str_props(properties):
    if not properties:
        return {}
    if not isinstance(properties, dict):
        raise CommandExecutionError("linstor: properties must be a mapping of key: value")
    return {str(k): _prop_value(v) for k, v in properties.items()}


def _prop_value(value):
    if isinstance(value, bool):  # YAML true/false -> LINSTOR's "true"/"false"
        return "true" if value else "false"
    return str(value)


def _cache(controllers):
    uris = resolve_controllers(controllers)
    key = ",".join(uris)
    root = __context__.setdefault(CTX, {})
    if key not in root:
        root[key] = {
            "uris": uris,
            "client": None,
            "nodes": None,
            "nodes_stale": set(),
            "pools": None,
            "pools_stale": set(),
            "rgs": None,
            "rgs_stale": set(),
            "ctrl_props": None,
        }
    return root[key]


def _client(cache):
    client = cache["client"]
    if client is not None and client.connected:
        return client
    client = linstor.MultiLinstor(cache["uris"], timeout=TIMEOUT, keep_alive=True)
    try:
        client.connect()
    except linstor.LinstorError as exc:
        raise CommandExecutionError(
            f"linstor: cannot connect to controller(s) {', '.join(cache['uris'])}: {exc}"
        )
    cache["client"] = client
    return client


def _call(cache, what, func, *args, **kwargs):
    """Run one python-linstor call; raise CommandExecutionError on transport or API errors."""
    client = _client(cache)
    try:
        replies = func(client, *args, **kwargs)
    except linstor.LinstorError as exc:
        raise CommandExecutionError(f"linstor: {what} failed: {exc}")
    return replies


def _check(replies, what):
    errors = [r for r in replies if hasattr(r, "is_error") and r.is_error()]
    if errors:
        msgs = []
        for err in errors:
            msg = err.message or ""
            if err.cause:
                msg += f" ({err.cause})"
            if err.details:
                msg += f" {err.details}"
            msgs.append(msg.strip())
        raise CommandExecutionError(f"linstor: {what} failed: {'; '.join(msgs)}")
    return [r.message for r in replies if hasattr(r, "message")]


def invalidate(controllers=None):
    """Drop every cached LINSTOR read for these controllers (next read lists again)."""
    cache = _cache(controllers)
    cache.update(nodes=None, pools=None, rgs=None, ctrl_props=None)
    cache["nodes_stale"].clear()
    cache["pools_stale"].clear()
    cache["rgs_stale"].clear()
    return True


# --------------------------------------------------------------------------- nodes
def _node_dict(node):
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


def _title(value):
    """The controller reports ``SATELLITE``/``PLAIN``; present ``Satellite``/``Plain``."""
    if value is None:
        return None
    for known in NODE_TYPES + COMM_TYPES:
        if str(value).lower() == known.lower():
            return known
    return str(value)


def _fetch_nodes(cache, names=None):
    res = _call(cache, "node list", lambda c: c.node_list_raise(filter_by_nodes=names))
    return {n.name: _node_dict(n) for n in res.nodes}


def _nodes(cache):
    if cache["nodes"] is None:
        cache["nodes"] = _fetch_nodes(cache)
        cache["nodes_stale"].clear()
    elif cache["nodes_stale"]:
        stale = sorted(cache["nodes_stale"])
        fresh = _fetch_nodes(cache, stale)
        for name in stale:
            cache["nodes"].pop(name, None)
        cache["nodes"].update(fresh)
        cache["nodes_stale"].clear()
    return cache["nodes"]


def _node_written(cache, name):
    cache["nodes_stale"].add(name)
    cache["pools_stale"].add(name)  # node create/delete adds/removes DfltDisklessStorPool


def node_list(controllers=None):
    """All LINSTOR nodes: ``{name: {node_type, address, port, comm_type, properties, ...}}``.

    CLI Example:

    .. code-block:: bash

        salt-call linstor.node_list controllers=linstor://10.0.0.1
    """
    return {k: dict(v) for k, v in _nodes(_cache(controllers)).items()}


def node_get(name, controllers=None):
    """One node's dict (see ``node_list``) or ``None`` when it is not registered."""
    node = _nodes(_cache(controllers)).get(name)
    return dict(node) if node else None


def node_create(name, address, node_type="Satellite", port=None, comm_type="Plain",
                properties=None, controllers=None):
    """Register a node (``linstor node create NAME ADDRESS --node-type TYPE``).

    CLI Example:

    .. code-block:: bash

        salt-call linstor.node_create alpha 10.0.0.1 node_type=Combined
    """
    cache = _cache(controllers)
    node_type = _node_type(node_type)
    comm_type = _comm_type(comm_type)
    replies = _call(
        cache, f"node create {name}", lambda c: c.node_create(
            name, node_type, address, com_type=comm_type,
            port=int(port) if port else None, property_dict=_str_props(properties) or None,
        ),
    )
    _node_written(cache, name)
    return _check(replies, f"node create {name}")


def node_modify(name, node_type=None, properties=None, delete_properties=None, controllers=None):
    """Change a node's type and/or properties (only the given keys)."""
    cache = _cache(controllers)
    replies = _call(
        cache, f"node modify {name}", lambda c: c.node_modify(
            name, node_type=_node_type(node_type) if node_type else None,
            property_dict=_str_props(properties) or None,
            delete_props=list(delete_properties) if delete_properties else None,
        ),
    )
    _node_written(cache, name)
    return _check(replies, f"node modify {name}")


def node_interface_modify(name, address=None, port=None, comm_type=None, interface="default",
                          controllers=None):
    """Change the address/port/communication type of a node's (active) net interface."""
    cache = _cache(controllers)
    replies = _call(
        cache, f"net interface modify {name}/{interface}", lambda c: c.netinterface_modify(
            name, interface, ip=address, port=int(port) if port else None,
            com_type=_comm_type(comm_type) if comm_type else None,
            is_active=True,  # python-linstor defaults to False, which would drop the connection
        ),
    )
    _node_written(cache, name)
    return _check(replies, f"net interface modify {name}/{interface}")


def node_delete(name, controllers=None):
    """Delete a node (LINSTOR refuses while resources are deployed on it)."""
    cache = _cache(controllers)
    replies = _call(cache, f"node delete {name}", lambda c: c.node_delete(name))
    _node_written(cache, name)
    return _check(replies, f"node delete {name}")


# --------------------------------------------------------------------------- storage pools
def _pool_dict(pool):
    kind = pool.provider_kind
    props = dict(pool.properties)
    if kind in DISKLESS_DRIVERS:
        driver_pool = None
    else:
        driver_pool = linstor.StoragePoolDriver.storage_props_to_driver_pool(kind, props) or None
    return {
        "name": pool.name,
        "node": pool.node_name,
        "driver": kind,
        "driver_pool": driver_pool,
        "properties": props,
        "free_capacity": pool.free_space.free_capacity if pool.free_space else None,
        "total_capacity": pool.free_space.total_capacity if pool.free_space else None,
    }


def _fetch_pools(cache, nodes=None):
    res = _call(cache, "storage pool list", lambda c: c.storage_pool_list_raise(filter_by_nodes=nodes))
    out = {}
    for pool in res.storage_pools:
        out.setdefault(pool.node_name, {})[pool.name] = _pool_dict(pool)
    return out


def _pools(cache):
    if cache["pools"] is None:
        cache["pools"] = _fetch_pools(cache)
        cache["pools_stale"].clear()
    elif cache["pools_stale"]:
        stale = sorted(cache["pools_stale"])
        fresh = _fetch_pools(cache, stale)
        for node in stale:
            cache["pools"].pop(node, None)
        cache["pools"].update(fresh)
        cache["pools_stale"].clear()
    return cache["pools"]


def storage_pool_list(node=None, controllers=None):
    """Storage pools: ``{node: {pool: {...}}}``, or ``{pool: {...}}`` for one ``node``.

    Each pool: ``name, node, driver (provider_kind), driver_pool, properties,
    free_capacity, total_capacity``. One list request per run, shared by all reads.

    CLI Example:

    .. code-block:: bash

        salt-call linstor.storage_pool_list node=alpha
    """
    pools = _pools(_cache(controllers))
    if node is not None:
        return {k: dict(v) for k, v in pools.get(node, {}).items()}
    return {n: {k: dict(v) for k, v in p.items()} for n, p in pools.items()}


def storage_pool_get(node, name, controllers=None):
    """One storage pool's dict or ``None``."""
    pool = _pools(_cache(controllers)).get(node, {}).get(name)
    return dict(pool) if pool else None


def storage_pool_create(node, name, driver, driver_pool=None, properties=None, controllers=None):
    """Create a storage pool (``linstor storage-pool create lvmthin NODE NAME VG/LV``).

    CLI Example:

    .. code-block:: bash

        salt-call linstor.storage_pool_create alpha open_image lvmthin linstorpool/thin_image
    """
    cache = _cache(controllers)
    kind = normalize_driver(driver)
    if kind not in DISKLESS_DRIVERS and not driver_pool:
        raise CommandExecutionError(f"linstor: driver {kind} needs a driver_pool (e.g. vg/thinpool)")
    replies = _call(
        cache, f"storage pool create {node}/{name}", lambda c: c.storage_pool_create(
            node, name, kind, driver_pool if kind not in DISKLESS_DRIVERS else None,
            property_dict=_str_props(properties) or None,
        ),
    )
    cache["pools_stale"].add(node)
    return _check(replies, f"storage pool create {node}/{name}")


def storage_pool_modify(node, name, properties=None, delete_properties=None, controllers=None):
    """Set (override) and/or delete storage pool properties; untouched keys stay as they are."""
    cache = _cache(controllers)
    props = _str_props(properties)
    delete = list(delete_properties or [])
    if not props and not delete:
        return []
    replies = _call(
        cache, f"storage pool modify {node}/{name}", lambda c: c.storage_pool_modify(
            node, name, props or None, delete_props=delete or None,
        ),
    )
    cache["pools_stale"].add(node)
    return _check(replies, f"storage pool modify {node}/{name}")


def storage_pool_delete(node, name, controllers=None):
    """Delete a storage pool from a node."""
    cache = _cache(controllers)
    replies = _call(cache, f"storage pool delete {node}/{name}",
                    lambda c: c.storage_pool_delete(node, name))
    cache["pools_stale"].add(node)
    return _check(replies, f"storage pool delete {node}/{name}")


# --------------------------------------------------------------------------- resource groups
def _rg_dict(rg):
    sf = rg.select_filter
    return {
        "name": rg.name,
        "description": rg.description or "",
        "place_count": sf.place_count,
        "storage_pool": sorted(sf.storage_pool_list or []),
        "diskless_on_remaining": bool(sf.diskless_on_remaining),
        "properties": dict(rg.properties),
    }


def _fetch_rgs(cache, names=None):
    res = _call(cache, "resource group list",
                lambda c: c.resource_group_list_raise(filter_by_resource_groups=names))
    return {rg.name: _rg_dict(rg) for rg in res.resource_groups}


def _rgs(cache):
    if cache["rgs"] is None:
        cache["rgs"] = _fetch_rgs(cache)
        cache["rgs_stale"].clear()
    elif cache["rgs_stale"]:
        stale = sorted(cache["rgs_stale"])
        fresh = _fetch_rgs(cache, stale)
        for name in stale:
            for have in [k for k in cache["rgs"] if k.lower() == name.lower()]:
                del cache["rgs"][have]
        cache["rgs"].update(fresh)
        cache["rgs_stale"].clear()
    return cache["rgs"]


def _pool_list_arg(storage_pool):
    if storage_pool is None:
        return None
    if isinstance(storage_pool, str):
        return [p.strip() for p in storage_pool.split(",") if p.strip()]
    return [str(p) for p in storage_pool]


def resource_group_list(controllers=None):
    """``{name: {description, place_count, storage_pool [list], diskless_on_remaining, properties}}``."""
    return {k: dict(v) for k, v in _rgs(_cache(controllers)).items()}


def resource_group_get(name, controllers=None):
    """One resource group's dict or ``None`` (LINSTOR names are case-insensitive)."""
    for rg_name, rg in _rgs(_cache(controllers)).items():
        if rg_name.lower() == str(name).lower():
            return dict(rg)
    return None


def resource_group_create(name, place_count=None, storage_pool=None, diskless_on_remaining=None,
                          description=None, properties=None, controllers=None):
    """Create a resource group (auto-place defaults for spawned resources).

    CLI Example:

    .. code-block:: bash

        salt-call linstor.resource_group_create one_image place_count=2 storage_pool=open_image
    """
    cache = _cache(controllers)
    replies = _call(
        cache, f"resource group create {name}", lambda c: c.resource_group_create(
            name, description=description,
            place_count=int(place_count) if place_count is not None else None,
            storage_pool=_pool_list_arg(storage_pool),
            diskless_on_remaining=diskless_on_remaining,
            property_dict=_str_props(properties) or None,
        ),
    )
    cache["rgs_stale"].add(name)
    return _check(replies, f"resource group create {name}")


def resource_group_modify(name, place_count=None, storage_pool=None, diskless_on_remaining=None,
                          description=None, properties=None, delete_properties=None,
                          controllers=None):
    """Modify only the given fields/properties of a resource group."""
    cache = _cache(controllers)
    replies = _call(
        cache, f"resource group modify {name}", lambda c: c.resource_group_modify(
            name, description=description,
            place_count=int(place_count) if place_count is not None else None,
            storage_pool=_pool_list_arg(storage_pool),
            diskless_on_remaining=diskless_on_remaining,
            property_dict=_str_props(properties) or None,
            delete_props=list(delete_properties) if delete_properties else None,
        ),
    )
    cache["rgs_stale"].add(name)
    return _check(replies, f"resource group modify {name}")


def resource_group_delete(name, controllers=None):
    """Delete a resource group (LINSTOR refuses while resource definitions use it)."""
    cache = _cache(controllers)
    replies = _call(cache, f"resource group delete {name}", lambda c: c.resource_group_delete(name))
    cache["rgs_stale"].add(name)
    return _check(replies, f"resource group delete {name}")


# --------------------------------------------------------------------------- controller properties
def controller_properties(controllers=None):
    """All controller properties ``{key: value}`` (cached for the run)."""
    cache = _cache(controllers)
    if cache["ctrl_props"] is None:
        replies = _call(cache, "controller property list", lambda c: c.controller_props())
        _check(replies, "controller property list")
        props = {}
        for reply in replies:
            if isinstance(reply, linstor.responses.ControllerProperties):
                props.update(reply.properties)
        cache["ctrl_props"] = props
    return dict(cache["ctrl_props"])


def controller_property_get(key, controllers=None):
    """One controller property's value or ``None``.

    CLI Example:

    .. code-block:: bash

        salt-call linstor.controller_property_get DrbdOptions/Net/protocol
    """
    return controller_properties(controllers).get(key)


def controller_property_set(key, value, controllers=None):
    """Set one controller property."""
    cache = _cache(controllers)
    replies = _call(cache, f"controller set-property {key}",
                    lambda c: c.controller_set_prop(key, _prop_value(value)))
    cache["ctrl_props"] = None
    return _check(replies, f"controller set-property {key}")


def controller_property_delete(key, controllers=None):
    """Delete one controller property."""
    cache = _cache(controllers)
    replies = _call(cache, f"controller delete-property {key}", lambda c: c.controller_del_prop(key))
    cache["ctrl_props"] = None
    return _check(replies, f"controller delete-property {key}")
