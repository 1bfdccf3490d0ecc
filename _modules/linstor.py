"""LINSTOR execution module: nodes, storage pools, resource groups, controller properties.

Talks to the LINSTOR controller's REST API through python-linstor (``import linstor``, the
real client library; this file is loaded by Salt under its own name and never shadows it).

Controller resolution (first hit wins):
  1. the ``controllers`` argument (``"ctrl-a,ctrl-b"``, ``"linstor://ctrl-a:3370"`` or a list)
  2. environment ``LS_CONTROLLERS``
  3. ``/etc/linstor/linstor-client.conf`` ``[global] controllers=``
  4. ``linstor://localhost``

Reads are cached for the run per controller set (``ohaf_cache``, namespace ``linstor``): one
``GET /v1/view/storage-pools`` serves every per-node pool read. Every write invalidates the
objects it touched (the written node's pools, the written node, the written resource group,
the controller properties); the next read re-reads those objects with one filtered list
request, so a run that creates 400 pools does not re-download the whole pool list 400 times.
Values of secret-looking property keys (``DrbdOptions/Net/shared-secret``) never reach an
error text (``ohaf_secret``). Names and parsing are plain functions in
``_utils/ohaf_linstor.py``.
"""
import os

from salt.exceptions import CommandExecutionError

try:
    import linstor  # python-linstor, the client library

    HAS_LINSTOR = hasattr(linstor, "MultiLinstor")
except ImportError:  # pragma: no cover - depends on the minion
    linstor = None
    HAS_LINSTOR = False

__virtualname__ = "linstor"

CLIENT_CONF = "/etc/linstor/linstor-client.conf"
TIMEOUT = 60
NS = "linstor"  # the ohaf_cache namespace
KINDS = ("nodes", "pools", "rgs", "ctrl_props")


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


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
    source = _u("ohaf_linstor.controller_source")(
        controllers, os.environ.get("LS_CONTROLLERS", ""), CLIENT_CONF)
    return linstor.MultiLinstor.controller_uri_list(source)


def normalize_driver(driver):
    """``lvmthin`` / ``LVM_THIN`` / ``LvmThin`` -> ``LVM_THIN`` (REST provider_kind)."""
    return _u("ohaf_linstor.normalize_driver")(driver, linstor.StoragePoolDriver.list())


def _node_type(node_type):
    return _u("ohaf_linstor.node_type")(
        node_type, "linstor: unknown node type '{value}'; allowed: {allowed}")


def _comm_type(comm_type):
    return _u("ohaf_linstor.comm_type")(
        comm_type, "linstor: unknown communication type '{value}'; allowed: {allowed}")


def _props(properties):
    return _u("ohaf_linstor.str_props")(properties) or None


def _ctl(controllers):
    """``(cache key, URIs)`` of a controller set."""
    uris = resolve_controllers(controllers)
    return ",".join(uris), uris


def _client(ctl):
    """The run's connected client for this controller set (one connect per run)."""
    key = f"{ctl[0]}|client"
    client = _u("ohaf_cache.peek")(__context__, NS, key)
    if client is not None and client.connected:
        return client
    client = linstor.MultiLinstor(ctl[1], timeout=TIMEOUT, keep_alive=True)
    try:
        client.connect()
    except linstor.LinstorError as exc:
        raise CommandExecutionError(
            f"linstor: cannot connect to controller(s) {', '.join(ctl[1])}: {exc}"
        )
    return _u("ohaf_cache.put")(__context__, NS, key, client)


def _call(ctl, what, func, secrets=()):
    """One python-linstor call ``func(client)`` -> its replies; a transport or API exception
    raises CommandExecutionError (secret values scrubbed)."""
    client = _client(ctl)
    try:
        replies = func(client)
    except linstor.LinstorError as exc:
        raise CommandExecutionError(
            _u("ohaf_secret.scrub")(f"linstor: {what} failed: {exc}", secrets))
    return replies


def _check(replies, what, secrets=()):
    """The reply messages; error replies raise CommandExecutionError (secrets scrubbed)."""
    errors = _u("ohaf_linstor.reply_errors")(replies)
    if errors:
        raise CommandExecutionError(_u("ohaf_secret.scrub")(
            f"linstor: {what} failed: {'; '.join(errors)}", secrets))
    return [r.message for r in replies if hasattr(r, "message")]


def _write(ctl, what, func, written, properties=None):
    """One write: the call, the written objects invalidated (``written``: ``{kind:
    [names]}``; a kind without names drops its whole read), the replies checked."""
    secrets = [v for k, v in _u("ohaf_linstor.str_props")(properties).items()
               if _u("ohaf_secret.is_secret_key")(k)]
    try:
        replies = _call(ctl, what, func, secrets)
    finally:
        _invalidate(ctl, written)
    return _check(replies, what, secrets)


def _invalidate(ctl, written):
    """Forget what a write touched: named objects are marked written (the next read of the
    kind re-reads them, the rest of the list stays), a kind without names is dropped."""
    for kind, names in written.items():
        if names:
            _u("ohaf_cache.get")(__context__, NS, f"{ctl[0]}|{kind}|written", set) \
                .update(names)
        else:
            _u("ohaf_cache.invalidate")(__context__, NS, f"{ctl[0]}|{kind}")


def _listed(ctl, kind, fetch):
    """The run's list of ``kind`` (``{name: ...}``): one full list request, then the objects
    a write invalidated re-read together with one filtered request (``fetch(ctl, names)``)."""
    key = f"{ctl[0]}|{kind}"
    have = _u("ohaf_cache.peek")(__context__, NS, key)
    written = _u("ohaf_cache.peek")(__context__, NS, f"{key}|written")
    if have is None:
        have = _u("ohaf_cache.put")(__context__, NS, key, fetch(ctl, None))
    elif written:
        _u("ohaf_linstor.merge_fresh")(have, fetch(ctl, sorted(written)), written)
    _u("ohaf_cache.invalidate")(__context__, NS, f"{key}|written")
    return have


def invalidate(controllers=None):
    """Drop every cached LINSTOR read for these controllers (next read lists again)."""
    ctl = _ctl(controllers)
    for kind in KINDS:
        for key in (f"{ctl[0]}|{kind}", f"{ctl[0]}|{kind}|written"):
            _u("ohaf_cache.invalidate")(__context__, NS, key)
    return True


# --------------------------------------------------------------------------- nodes
def _fetch_nodes(ctl, names):
    res = _call(ctl, "node list", lambda c: c.node_list_raise(filter_by_nodes=names))
    return {n.name: _u("ohaf_linstor.node_dict")(n) for n in res.nodes}


def _nodes(controllers):
    return _listed(_ctl(controllers), "nodes", _fetch_nodes)


def _node_write(name, what, func, controllers, properties=None):
    # node create/delete adds/removes its DfltDisklessStorPool: its pools are re-read too
    return _write(_ctl(controllers), what, func, {"nodes": [name], "pools": [name]}, properties)


def node_list(controllers=None):
    """All LINSTOR nodes: ``{name: {node_type, address, port, comm_type, properties, ...}}``.

    CLI Example:

    .. code-block:: bash

        salt-call linstor.node_list controllers=linstor://10.0.0.1
    """
    return {k: dict(v) for k, v in _nodes(controllers).items()}


def node_get(name, controllers=None):
    """One node's dict (see ``node_list``) or ``None`` when it is not registered."""
    node = _nodes(controllers).get(name)
    return dict(node) if node else None


def node_create(name, address, node_type="Satellite", port=None, comm_type="Plain",
                properties=None, controllers=None):
    """Register a node (``linstor node create NAME ADDRESS --node-type TYPE``).

    CLI Example:

    .. code-block:: bash

        salt-call linstor.node_create alpha 10.0.0.1 node_type=Combined
    """
    node_type = _node_type(node_type)
    comm_type = _comm_type(comm_type)
    return _node_write(name, f"node create {name}", lambda c: c.node_create(
        name, node_type, address, com_type=comm_type,
        port=int(port) if port else None, property_dict=_props(properties),
    ), controllers, properties)


def node_modify(name, node_type=None, properties=None, delete_properties=None, controllers=None):
    """Change a node's type and/or properties (only the given keys)."""
    return _node_write(name, f"node modify {name}", lambda c: c.node_modify(
        name, node_type=_node_type(node_type) if node_type else None,
        property_dict=_props(properties),
        delete_props=list(delete_properties) if delete_properties else None,
    ), controllers, properties)


def node_interface_modify(name, address=None, port=None, comm_type=None, interface="default",
                          controllers=None):
    """Change the address/port/communication type of a node's (active) net interface."""
    return _node_write(name, f"net interface modify {name}/{interface}",
                       lambda c: c.netinterface_modify(
                           name, interface, ip=address, port=int(port) if port else None,
                           com_type=_comm_type(comm_type) if comm_type else None,
                           # python-linstor defaults to False, which would drop the connection
                           is_active=True,
                       ), controllers)


def node_delete(name, controllers=None):
    """Delete a node (LINSTOR refuses while resources are deployed on it)."""
    return _node_write(name, f"node delete {name}", lambda c: c.node_delete(name), controllers)


# --------------------------------------------------------------------------- storage pools
def _pool_dict(pool):
    return _u("ohaf_linstor.pool_dict")(
        pool, linstor.StoragePoolDriver.storage_props_to_driver_pool)


def _fetch_pools(ctl, nodes):
    res = _call(ctl, "storage pool list",
                lambda c: c.storage_pool_list_raise(filter_by_nodes=nodes))
    out = {}
    for pool in res.storage_pools:
        out.setdefault(pool.node_name, {})[pool.name] = _pool_dict(pool)
    return out


def _pools(controllers):
    return _listed(_ctl(controllers), "pools", _fetch_pools)


def _pool_write(node, name, what, func, controllers, properties=None):
    return _write(_ctl(controllers), f"storage pool {what} {node}/{name}", func,
                  {"pools": [node]}, properties)


def storage_pool_list(node=None, controllers=None):
    """Storage pools: ``{node: {pool: {...}}}``, or ``{pool: {...}}`` for one ``node``.

    Each pool: ``name, node, driver (provider_kind), driver_pool, properties,
    free_capacity, total_capacity``. One list request per run, shared by all reads.

    CLI Example:

    .. code-block:: bash

        salt-call linstor.storage_pool_list node=alpha
    """
    pools = _pools(controllers)
    if node is not None:
        return {k: dict(v) for k, v in pools.get(node, {}).items()}
    return {n: {k: dict(v) for k, v in p.items()} for n, p in pools.items()}


def storage_pool_get(node, name, controllers=None):
    """One storage pool's dict or ``None``."""
    pool = _pools(controllers).get(node, {}).get(name)
    return dict(pool) if pool else None


def storage_pool_create(node, name, driver, driver_pool=None, properties=None, controllers=None):
    """Create a storage pool (``linstor storage-pool create lvmthin NODE NAME VG/LV``).

    CLI Example:

    .. code-block:: bash

        salt-call linstor.storage_pool_create alpha open_image lvmthin linstorpool/thin_image
    """
    kind = normalize_driver(driver)
    diskless = _u("ohaf_linstor.is_diskless")(kind)
    if not diskless and not driver_pool:
        raise CommandExecutionError(f"linstor: driver {kind} needs a driver_pool (e.g. vg/thinpool)")
    return _pool_write(node, name, "create", lambda c: c.storage_pool_create(
        node, name, kind, None if diskless else driver_pool, property_dict=_props(properties),
    ), controllers, properties)


def storage_pool_modify(node, name, properties=None, delete_properties=None, controllers=None):
    """Set (override) and/or delete storage pool properties; untouched keys stay as they are."""
    props = _u("ohaf_linstor.str_props")(properties)
    delete = list(delete_properties or [])
    if not props and not delete:
        return []
    return _pool_write(node, name, "modify", lambda c: c.storage_pool_modify(
        node, name, props or None, delete_props=delete or None,
    ), controllers, properties)


def storage_pool_delete(node, name, controllers=None):
    """Delete a storage pool from a node."""
    return _pool_write(node, name, "delete", lambda c: c.storage_pool_delete(node, name),
                       controllers)


# --------------------------------------------------------------------------- resource groups
def _fetch_rgs(ctl, names):
    res = _call(ctl, "resource group list",
                lambda c: c.resource_group_list_raise(filter_by_resource_groups=names))
    return {rg.name: _u("ohaf_linstor.rg_dict")(rg) for rg in res.resource_groups}


def _rgs(controllers):
    return _listed(_ctl(controllers), "rgs", _fetch_rgs)


def _rg_write(name, what, func, controllers, properties=None):
    return _write(_ctl(controllers), f"resource group {what} {name}", func, {"rgs": [name]},
                  properties)


def _rg_args(place_count, storage_pool, diskless_on_remaining, description, properties):
    return {
        "description": description,
        "place_count": int(place_count) if place_count is not None else None,
        "storage_pool": _u("ohaf_linstor.pool_list")(storage_pool),
        "diskless_on_remaining": diskless_on_remaining,
        "property_dict": _props(properties),
    }


def resource_group_list(controllers=None):
    """``{name: {description, place_count, storage_pool [list], diskless_on_remaining, properties}}``."""
    return {k: dict(v) for k, v in _rgs(controllers).items()}


def resource_group_get(name, controllers=None):
    """One resource group's dict or ``None`` (LINSTOR names are case-insensitive)."""
    for rg_name, rg in _rgs(controllers).items():
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
    args = _rg_args(place_count, storage_pool, diskless_on_remaining, description, properties)
    return _rg_write(name, "create", lambda c: c.resource_group_create(name, **args),
                     controllers, properties)


def resource_group_modify(name, place_count=None, storage_pool=None, diskless_on_remaining=None,
                          description=None, properties=None, delete_properties=None,
                          controllers=None):
    """Modify only the given fields/properties of a resource group."""
    args = _rg_args(place_count, storage_pool, diskless_on_remaining, description, properties)
    args["delete_props"] = list(delete_properties) if delete_properties else None
    return _rg_write(name, "modify", lambda c: c.resource_group_modify(name, **args),
                     controllers, properties)


def resource_group_delete(name, controllers=None):
    """Delete a resource group (LINSTOR refuses while resource definitions use it)."""
    return _rg_write(name, "delete", lambda c: c.resource_group_delete(name), controllers)


# --------------------------------------------------------------------------- controller properties
def _fetch_ctrl_props(ctl):
    replies = _call(ctl, "controller property list", lambda c: c.controller_props())
    _check(replies, "controller property list")
    props = {}
    for reply in replies:
        if isinstance(reply, linstor.responses.ControllerProperties):
            props.update(reply.properties)
    return props


def controller_properties(controllers=None):
    """All controller properties ``{key: value}`` (cached for the run)."""
    ctl = _ctl(controllers)
    props = _u("ohaf_cache.peek")(__context__, NS, f"{ctl[0]}|ctrl_props")
    if props is None:
        # not ohaf_cache.get(loader): a loader called from inside the utils loader would not
        # resolve this module's dunders
        props = _u("ohaf_cache.put")(__context__, NS, f"{ctl[0]}|ctrl_props",
                                            _fetch_ctrl_props(ctl))
    return dict(props)


def controller_property_get(key, controllers=None):
    """One controller property's value or ``None``.

    CLI Example:

    .. code-block:: bash

        salt-call linstor.controller_property_get DrbdOptions/Net/protocol
    """
    return controller_properties(controllers).get(key)


def controller_property_set(key, value, controllers=None):
    """Set one controller property."""
    value = _u("ohaf_linstor.prop_value")(value)
    return _write(_ctl(controllers), f"controller set-property {key}",
                  lambda c: c.controller_set_prop(key, value), {"ctrl_props": None}, {key: value})


def controller_property_delete(key, controllers=None):
    """Delete one controller property."""
    return _write(_ctl(controllers), f"controller delete-property {key}",
                  lambda c: c.controller_del_prop(key), {"ctrl_props": None})
