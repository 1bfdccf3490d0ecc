"""LINSTOR states: nodes, storage pools, resource groups, controller properties.

Every state has the same shape: read (cached list, see ``_modules/linstor.py``) -> diff ->
``test=True`` returns ``result: None`` with the diff and writes nothing -> apply only what
differs -> re-read and verify -> ``changes`` is the real diff; no diff, no ``changes``.

Properties are managed per key: keys listed in ``properties`` are set to the given value,
keys listed in ``delete_properties`` are removed, every other key (LINSTOR keeps internal
ones such as ``StorDriver/StorPoolName``) is left alone.

Data safety: a storage pool that exists with another driver or backing pool is never
deleted and recreated (that would drop the volumes in it); the state fails and says so.
Likewise a registered node's type is not changed behind the operator's back.

The SLS passes ``controllers`` explicitly (e.g. ``linstor://10.0.0.1``); without it the
module falls back to ``LS_CONTROLLERS``, ``/etc/linstor/linstor-client.conf``, localhost.
"""
from salt.exceptions import CommandExecutionError

__virtualname__ = "linstor"

DISKLESS_DRIVERS = ("DISKLESS", "EBS_INIT")


def __virtual__():
    if "linstor.node_get" in __salt__:
        return __virtualname__
    return (False, "linstor: the linstor execution module is not available (python-linstor missing?)")


def _ret(name):
    return {"name": name, "result": True, "changes": {}, "comment": ""}


def _fail(ret, comment):
    ret["result"] = False
    ret["comment"] = comment
    return ret


def _str(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _props_diff(current, properties, delete_properties):
    """{"old": {...}, "new": {...}} for differing keys only, or {}."""
    current = current or {}
    old, new = {}, {}
    for key, value in (properties or {}).items():
        value = _str(value)
        if current.get(key) != value:
            old[key] = current.get(key)
            new[key] = value
    for key in delete_properties or []:
        if key in current:
            old[key] = current[key]
            new[key] = None
    return {"old": old, "new": new} if new else {}


def _set_and_delete(prop_diff):
    new = prop_diff.get("new", {}) if prop_diff else {}
    return (
        {k: v for k, v in new.items() if v is not None},
        [k for k, v in new.items() if v is None],
    )


def _verified(ret, diff, after_diff, done_comment):
    if after_diff:
        return _fail(ret, f"verification failed: still differs after apply: {after_diff}")
    ret["changes"] = diff
    ret["comment"] = done_comment
    return ret


def _check_type(value, allowed, what):
    for known in allowed:
        if str(value).lower() == known.lower():
            return known
    raise CommandExecutionError(f"{what} '{value}' is invalid; allowed: {', '.join(allowed)}")


# --------------------------------------------------------------------------- nodes
def _node_diff(current, address, port, comm_type, properties, delete_properties):
    diff = {}
    if current.get("address") != address:
        diff["address"] = {"old": current.get("address"), "new": address}
    if port is not None and current.get("port") != int(port):
        diff["port"] = {"old": current.get("port"), "new": int(port)}
    if str(current.get("comm_type") or "").lower() != comm_type.lower():
        diff["comm_type"] = {"old": current.get("comm_type"), "new": comm_type}
    prop_diff = _props_diff(current.get("properties"), properties, delete_properties)
    if prop_diff:
        diff["properties"] = prop_diff
    return diff


def node_present(name, address, node_type="Satellite", port=None, comm_type="Plain",
                 properties=None, delete_properties=None, controllers=None):
    """A LINSTOR node is registered with this address (``linstor node create``).

    name
        node name (the satellite's ``uname -n``)
    address
        IP address of the node's ``default`` net interface
    node_type
        ``Satellite`` (default), ``Combined``, ``Controller`` or ``Auxiliary``; a registered
        node of another type makes the state fail (it is not changed silently)
    port / comm_type
        satellite port (default: LINSTOR's, 3366 Plain / 3367 SSL) and ``Plain``/``SSL``
    properties / delete_properties
        node properties to set / keys to remove (other keys are left alone)
    controllers
        controller URI(s), e.g. ``linstor://10.0.0.1``

    .. code-block:: yaml

        linstor-node-alpha:
          linstor.node_present:
            - name: alpha
            - address: 10.0.0.1
            - node_type: Combined
            - controllers: linstor://10.0.0.1
    """
    ret = _ret(name)
    try:
        node_type = _check_type(node_type, ("Controller", "Satellite", "Combined", "Auxiliary"), "node_type")
        comm_type = _check_type(comm_type, ("Plain", "SSL"), "comm_type")
        current = __salt__["linstor.node_get"](name, controllers=controllers)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))

    if current is None:
        new = {"address": address, "node_type": node_type, "comm_type": comm_type}
        if port is not None:
            new["port"] = int(port)
        if properties:
            new["properties"] = {k: _str(v) for k, v in properties.items()}
        diff = {"node": {"old": None, "new": new}}
        if __opts__["test"]:
            ret.update(result=None, changes=diff, comment=f"Node {name} would be registered")
            return ret
        try:
            __salt__["linstor.node_create"](
                name, address, node_type=node_type, port=port, comm_type=comm_type,
                properties=properties, controllers=controllers,
            )
            after = __salt__["linstor.node_get"](name, controllers=controllers)
        except CommandExecutionError as exc:
            return _fail(ret, str(exc))
        if after is None:
            return _fail(ret, f"verification failed: node {name} is not listed after creation")
        after_diff = _node_diff(after, address, port, comm_type, properties, None)
        if after["node_type"].lower() != node_type.lower():
            after_diff["node_type"] = {"old": after["node_type"], "new": node_type}
        return _verified(ret, diff, after_diff, f"Node {name} registered")

    if str(current["node_type"]).lower() != node_type.lower():
        return _fail(
            ret,
            f"Node {name} is registered as {current['node_type']}, the state wants {node_type}; "
            "refusing to change a registered node's type (do it deliberately with "
            "`linstor node modify --node-type` or delete and re-register the node)",
        )
    diff = _node_diff(current, address, port, comm_type, properties, delete_properties)
    if not diff:
        ret["comment"] = f"Node {name} is in the desired state"
        return ret
    if __opts__["test"]:
        ret.update(result=None, changes=diff, comment=f"Node {name} would be modified")
        return ret
    try:
        if {"address", "port", "comm_type"} & set(diff):
            __salt__["linstor.node_interface_modify"](
                name,
                address=address if "address" in diff else None,
                port=port if "port" in diff else None,
                comm_type=comm_type if "comm_type" in diff else None,
                interface=current.get("interface") or "default",
                controllers=controllers,
            )
        if "properties" in diff:
            to_set, to_delete = _set_and_delete(diff["properties"])
            __salt__["linstor.node_modify"](
                name, properties=to_set, delete_properties=to_delete, controllers=controllers
            )
        after = __salt__["linstor.node_get"](name, controllers=controllers)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    if after is None:
        return _fail(ret, f"verification failed: node {name} vanished")
    after_diff = _node_diff(after, address, port, comm_type, properties, delete_properties)
    return _verified(ret, diff, after_diff, f"Node {name} modified")


def _absent(name, label, get, delete, diff_key, old, deleted):
    """The one shape of every ``*_absent``: read -> already absent -> diff -> test=True ->
    delete -> re-read -> verify. ``label`` names the object in comments ("Node delta")."""
    ret = _ret(name)
    try:
        current = get()
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    if current is None:
        ret["comment"] = f"{label} is already absent"
        return ret
    diff = {diff_key: {"old": old(current), "new": None}}
    if __opts__["test"]:
        ret.update(result=None, changes=diff, comment=f"{label} would be deleted")
        return ret
    try:
        delete(current)
        after = get()
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    if after is not None:
        return _fail(ret, f"verification failed: {label[0].lower()}{label[1:]} is still listed")
    ret.update(changes=diff, comment=deleted)
    return ret


def node_absent(name, controllers=None):
    """A LINSTOR node is not registered (LINSTOR refuses while it holds resources).

    .. code-block:: yaml

        linstor-node-delta-gone:
          linstor.node_absent:
            - name: delta
            - controllers: linstor://10.0.0.1
    """
    return _absent(
        name, f"Node {name}",
        get=lambda: __salt__["linstor.node_get"](name, controllers=controllers),
        delete=lambda cur: __salt__["linstor.node_delete"](name, controllers=controllers),
        diff_key="node",
        old=lambda cur: {"address": cur["address"], "node_type": cur["node_type"]},
        deleted=f"Node {name} deleted")


# --------------------------------------------------------------------------- storage pools
def _pool_identity_problem(name, node, current, driver, driver_pool):
    if current["driver"] != driver:
        return (
            f"Storage pool {name} on node {node} exists with driver {current['driver']}, "
            f"the state wants {driver}; refusing to delete and recreate it (that would drop "
            "its volumes): migrate it by hand or change the state"
        )
    if driver not in DISKLESS_DRIVERS and (current.get("driver_pool") or None) != (driver_pool or None):
        return (
            f"Storage pool {name} on node {node} exists on backing pool "
            f"{current.get('driver_pool')}, the state wants {driver_pool}; refusing to delete "
            "and recreate it (that would drop its volumes): migrate it by hand or change the state"
        )
    return None


def storage_pool_present(name, node, driver, driver_pool=None, properties=None,
                         delete_properties=None, controllers=None):
    """A storage pool exists on a node with this driver/backing pool and these properties.

    name
        storage pool name, e.g. ``open_image``
    node
        LINSTOR node name
    driver
        ``LVM_THIN`` / ``lvmthin``, ``LVM``, ``ZFS``, ``ZFS_THIN``, ``FILE``, ``FILE_THIN``,
        ``DISKLESS``...
    driver_pool
        backing pool: ``vg/thinpool`` (LVM_THIN), ``vg`` (LVM), zpool, directory; not for DISKLESS
    properties / delete_properties
        pool properties to set / keys to remove; only differing keys are written (one PUT)

    An existing pool with another driver or driver_pool fails the state; it is never deleted.

    .. code-block:: yaml

        linstor-pool-alpha-open_image:
          linstor.storage_pool_present:
            - name: open_image
            - node: alpha
            - driver: LVM_THIN
            - driver_pool: linstorpool/thin_image
            - properties:
                PrefNic: default
            - controllers: linstor://10.0.0.1
    """
    ret = _ret(name)
    try:
        driver = __salt__["linstor.normalize_driver"](driver)
        if driver not in DISKLESS_DRIVERS and not driver_pool:
            raise CommandExecutionError(f"driver {driver} needs driver_pool (e.g. linstorpool/thin_image)")
        if driver in DISKLESS_DRIVERS:
            driver_pool = None
        current = __salt__["linstor.storage_pool_get"](node, name, controllers=controllers)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))

    if current is None:
        new = {"node": node, "driver": driver, "driver_pool": driver_pool}
        if properties:
            new["properties"] = {k: _str(v) for k, v in properties.items()}
        diff = {"storage_pool": {"old": None, "new": new}}
        if __opts__["test"]:
            ret.update(result=None, changes=diff, comment=f"Storage pool {name} on {node} would be created")
            return ret
        try:
            __salt__["linstor.storage_pool_create"](
                node, name, driver, driver_pool=driver_pool, properties=properties,
                controllers=controllers,
            )
            after = __salt__["linstor.storage_pool_get"](node, name, controllers=controllers)
        except CommandExecutionError as exc:
            return _fail(ret, str(exc))
        if after is None:
            return _fail(ret, f"verification failed: storage pool {name} on {node} is not listed after creation")
        problem = _pool_identity_problem(name, node, after, driver, driver_pool)
        after_diff = _props_diff(after["properties"], properties, None)
        if problem:
            return _fail(ret, f"verification failed: {problem}")
        return _verified(ret, diff, after_diff, f"Storage pool {name} created on {node}")

    problem = _pool_identity_problem(name, node, current, driver, driver_pool)
    if problem:
        return _fail(ret, problem)
    prop_diff = _props_diff(current["properties"], properties, delete_properties)
    if not prop_diff:
        ret["comment"] = f"Storage pool {name} on {node} is in the desired state"
        return ret
    diff = {"properties": prop_diff}
    if __opts__["test"]:
        ret.update(result=None, changes=diff, comment=f"Storage pool {name} on {node} would be modified")
        return ret
    to_set, to_delete = _set_and_delete(prop_diff)
    try:
        __salt__["linstor.storage_pool_modify"](
            node, name, properties=to_set, delete_properties=to_delete, controllers=controllers
        )
        after = __salt__["linstor.storage_pool_get"](node, name, controllers=controllers)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    if after is None:
        return _fail(ret, f"verification failed: storage pool {name} on {node} vanished")
    after_diff = _props_diff(after["properties"], properties, delete_properties)
    return _verified(ret, diff, after_diff, f"Storage pool {name} on {node} modified")


def storage_pool_absent(name, node, controllers=None):
    """A storage pool does not exist on a node (LINSTOR refuses while volumes use it).

    .. code-block:: yaml

        linstor-pool-delta-open_image-gone:
          linstor.storage_pool_absent:
            - name: open_image
            - node: delta
            - controllers: linstor://10.0.0.1
    """
    return _absent(
        name, f"Storage pool {name} on {node}",
        get=lambda: __salt__["linstor.storage_pool_get"](node, name, controllers=controllers),
        delete=lambda cur: __salt__["linstor.storage_pool_delete"](node, name, controllers=controllers),
        diff_key="storage_pool",
        old=lambda cur: {"node": node, "driver": cur["driver"], "driver_pool": cur["driver_pool"]},
        deleted=f"Storage pool {name} deleted from {node}")


# --------------------------------------------------------------------------- resource groups
def _pool_list(storage_pool):
    if storage_pool is None:
        return None
    if isinstance(storage_pool, str):
        return sorted(p.strip() for p in storage_pool.split(",") if p.strip())
    return sorted(str(p) for p in storage_pool)


def _rg_diff(current, place_count, storage_pool, diskless_on_remaining, description,
             properties, delete_properties):
    diff = {}
    if place_count is not None and current.get("place_count") != int(place_count):
        diff["place_count"] = {"old": current.get("place_count"), "new": int(place_count)}
    pools = _pool_list(storage_pool)
    if pools is not None and sorted(current.get("storage_pool") or []) != pools:
        diff["storage_pool"] = {"old": current.get("storage_pool"), "new": pools}
    if diskless_on_remaining is not None and bool(current.get("diskless_on_remaining")) != bool(diskless_on_remaining):
        diff["diskless_on_remaining"] = {"old": current.get("diskless_on_remaining"),
                                         "new": bool(diskless_on_remaining)}
    if description is not None and (current.get("description") or "") != description:
        diff["description"] = {"old": current.get("description"), "new": description}
    prop_diff = _props_diff(current.get("properties"), properties, delete_properties)
    if prop_diff:
        diff["properties"] = prop_diff
    return diff


def resource_group_present(name, place_count=None, storage_pool=None, diskless_on_remaining=None,
                           description=None, properties=None, delete_properties=None,
                           controllers=None):
    """A resource group exists with these auto-place settings and properties.

    Fields left at ``None`` are not managed. ``storage_pool`` is a pool name or a list
    (compared as a set).

    .. code-block:: yaml

        linstor-rg-one_image:
          linstor.resource_group_present:
            - name: one_image
            - place_count: 2
            - storage_pool: open_image
            - properties:
                DrbdOptions/auto-quorum: suspend-io
            - controllers: linstor://10.0.0.1
    """
    ret = _ret(name)
    try:
        current = __salt__["linstor.resource_group_get"](name, controllers=controllers)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    args = (place_count, storage_pool, diskless_on_remaining, description)

    if current is None:
        new = {}
        for key, value in zip(("place_count", "storage_pool", "diskless_on_remaining", "description"), args):
            if value is not None:
                new[key] = _pool_list(value) if key == "storage_pool" else value
        if properties:
            new["properties"] = {k: _str(v) for k, v in properties.items()}
        diff = {"resource_group": {"old": None, "new": new}}
        if __opts__["test"]:
            ret.update(result=None, changes=diff, comment=f"Resource group {name} would be created")
            return ret
        try:
            __salt__["linstor.resource_group_create"](
                name, place_count=place_count, storage_pool=_pool_list(storage_pool),
                diskless_on_remaining=diskless_on_remaining, description=description,
                properties=properties, controllers=controllers,
            )
            after = __salt__["linstor.resource_group_get"](name, controllers=controllers)
        except CommandExecutionError as exc:
            return _fail(ret, str(exc))
        if after is None:
            return _fail(ret, f"verification failed: resource group {name} is not listed after creation")
        after_diff = _rg_diff(after, *args, properties, None)
        return _verified(ret, diff, after_diff, f"Resource group {name} created")

    diff = _rg_diff(current, *args, properties, delete_properties)
    if not diff:
        ret["comment"] = f"Resource group {name} is in the desired state"
        return ret
    if __opts__["test"]:
        ret.update(result=None, changes=diff, comment=f"Resource group {name} would be modified")
        return ret
    to_set, to_delete = _set_and_delete(diff.get("properties"))
    try:
        __salt__["linstor.resource_group_modify"](
            name,
            place_count=diff["place_count"]["new"] if "place_count" in diff else None,
            storage_pool=diff["storage_pool"]["new"] if "storage_pool" in diff else None,
            diskless_on_remaining=diff["diskless_on_remaining"]["new"] if "diskless_on_remaining" in diff else None,
            description=diff["description"]["new"] if "description" in diff else None,
            properties=to_set, delete_properties=to_delete, controllers=controllers,
        )
        after = __salt__["linstor.resource_group_get"](name, controllers=controllers)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    if after is None:
        return _fail(ret, f"verification failed: resource group {name} vanished")
    after_diff = _rg_diff(after, *args, properties, delete_properties)
    return _verified(ret, diff, after_diff, f"Resource group {name} modified")


def resource_group_absent(name, controllers=None):
    """A resource group does not exist (LINSTOR refuses while resource definitions use it).

    .. code-block:: yaml

        linstor-rg-old-gone:
          linstor.resource_group_absent:
            - name: old_group
            - controllers: linstor://10.0.0.1
    """
    return _absent(
        name, f"Resource group {name}",
        get=lambda: __salt__["linstor.resource_group_get"](name, controllers=controllers),
        delete=lambda cur: __salt__["linstor.resource_group_delete"](cur["name"], controllers=controllers),
        diff_key="resource_group",
        old=lambda cur: cur,
        deleted=f"Resource group {name} deleted")


# --------------------------------------------------------------------------- controller
def controller_properties_present(name, properties=None, delete_properties=None, controllers=None):
    """Controller properties have these values (per key; others are left alone).

    .. code-block:: yaml

        linstor-controller-props:
          linstor.controller_properties_present:
            - properties:
                DrbdOptions/Net/protocol: C
            - controllers: linstor://10.0.0.1
    """
    ret = _ret(name)
    try:
        current = __salt__["linstor.controller_properties"](controllers=controllers)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    prop_diff = _props_diff(current, properties, delete_properties)
    if not prop_diff:
        ret["comment"] = "Controller properties are in the desired state"
        return ret
    diff = {"properties": prop_diff}
    if __opts__["test"]:
        ret.update(result=None, changes=diff, comment="Controller properties would be modified")
        return ret
    to_set, to_delete = _set_and_delete(prop_diff)
    try:
        for key, value in to_set.items():
            __salt__["linstor.controller_property_set"](key, value, controllers=controllers)
        for key in to_delete:
            __salt__["linstor.controller_property_delete"](key, controllers=controllers)
        after = __salt__["linstor.controller_properties"](controllers=controllers)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    return _verified(ret, diff, _props_diff(after, properties, delete_properties),
                     "Controller properties modified")
