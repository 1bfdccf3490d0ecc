"""LINSTOR states: nodes, storage pools, resource groups, controller properties.

Every state is its read, diff and apply handed to the formula's state engine
(``_u("ohaf_state.run")``): read (the module's cached list, see
``_modules/linstor.py``) -> diff -> ``test=True`` returns ``result: None`` with the diff and
writes nothing -> apply only what differs -> re-read and verify -> ``changes`` is the diff;
no diff, no ``changes``. The diffs are plain functions in ``_utils/ohaf_linstor.py``.

Properties are managed per key, as LINBIT's ansible-linstor-collection does: keys listed in
``properties`` are set to the given value, keys listed in ``delete_properties`` are removed,
every other key (LINSTOR keeps internal ones such as ``StorDriver/StorPoolName``) is left
alone. Values of secret-looking keys (``DrbdOptions/Net/shared-secret``) are reported
``<hidden>``.

Data safety: a storage pool that exists with another driver or backing pool is never
deleted and recreated (that would drop the volumes in it); the state fails and says so.
Likewise a registered node's type is not changed behind the operator's back.

The SLS passes ``controllers`` explicitly (e.g. ``linstor://10.0.0.1``); without it the
module falls back to ``LS_CONTROLLERS``, ``/etc/linstor/linstor-client.conf``, localhost.
"""

__virtualname__ = "linstor"


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if "linstor.node_get" in __salt__:
        return __virtualname__
    return (False, "linstor: the linstor execution module is not available (python-linstor missing?)")


def _run(name, label, key, *, read, diff, apply, precheck=None, made="created", done=None,
         ok=None):
    """Every state of this module: ``ohaf_state.run`` with its comments.

    label
        the object in comments ("Node alpha").
    key
        the ``changes`` key of a creation or removal (``{key: {"old": None, "new": ..}}``);
        None when the object is never created or removed as a whole.
    made
        the verb of that creation/removal ("created", "registered", "deleted").
    done / ok
        the comment after the creation/removal, and when nothing is to do.
    """
    def whole(changes):
        change = changes.get(key) if key is not None and len(changes) == 1 else None
        return isinstance(change, dict) and None in (change.get("old"), change.get("new"))

    def mask(changes):
        return _u("ohaf_secret.mask_changes")(changes)

    def comment_test(changes):
        return f"{label} would be {made if whole(changes) else 'modified'}"

    def comment_done(changes):
        return (done or f"{label} {made}") if whole(changes) else f"{label} modified"

    def comment_verify(left, after):
        if whole(left):
            state = "is not listed" if left[key]["old"] is None else "is still listed"
            text = f"{label[0].lower()}{label[1:]} {state}"
        else:
            text = f"still differs after apply: {mask(left)}"
        # what was written is unsure: the state fails without claiming changes
        _u("ohaf_state.refuse")(f"verification failed: {text}")

    return _u("ohaf_state.run")(
        name, test=__opts__["test"], read=read, diff=diff, apply=apply, precheck=precheck,
        what=label, mask=mask, comment_ok=ok or f"{label} is in the desired state",
        comment_test=comment_test, comment_done=comment_done, comment_verify=comment_verify)


def _present(name, label, key, *, read, new, update, create, modify, problem=None, **kw):
    """A ``*_present`` state: an absent object is created with everything at once
    (``new()`` reported, ``create()``); an existing one is refused when ``problem(cur)``
    says so (data safety), else ``update(cur)`` is its diff and ``modify(cur, changes)``
    writes only that."""
    def diff(cur):
        if cur is None:
            return {key: {"old": None, "new": new()}}
        refusal = problem(cur) if problem else None
        if refusal:
            _u("ohaf_state.refuse")(refusal)
        return update(cur)

    def apply(cur, changes):
        if cur is None:
            create()
        else:
            modify(cur, changes)

    return _run(name, label, key, read=read, diff=diff, apply=apply, **kw)


def _absent(name, label, key, *, read, old, delete, done):
    """A ``*_absent`` state: ``{key: {"old": old(cur), "new": None}}``, then ``delete(cur)``."""
    return _run(name, label, key, read=read,
                diff=lambda cur: {} if cur is None else {key: {"old": old(cur), "new": None}},
                apply=lambda cur, changes: delete(cur),
                made="deleted", done=done, ok=f"{label} is already absent")


# --------------------------------------------------------------------------- nodes
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
    want = {}

    def precheck():
        want.update(_u("ohaf_linstor.node_want")(
            address, node_type, port, comm_type, properties, delete_properties))

    def create():
        __salt__["linstor.node_create"](
            name, address, node_type=want["node_type"], port=port,
            comm_type=want["comm_type"], properties=properties, controllers=controllers)

    def modify(cur, changes):
        if {"address", "port", "comm_type"} & set(changes):
            __salt__["linstor.node_interface_modify"](
                name,
                address=address if "address" in changes else None,
                port=port if "port" in changes else None,
                comm_type=want["comm_type"] if "comm_type" in changes else None,
                interface=cur.get("interface") or "default",
                controllers=controllers)
        if "properties" in changes:
            to_set, to_delete = _u("ohaf_linstor.props_split")(changes["properties"])
            __salt__["linstor.node_modify"](
                name, properties=to_set, delete_properties=to_delete, controllers=controllers)

    return _present(
        name, f"Node {name}", "node", precheck=precheck, made="registered",
        read=lambda: __salt__["linstor.node_get"](name, controllers=controllers),
        new=lambda: _u("ohaf_linstor.node_new")(want),
        problem=lambda cur: _u("ohaf_linstor.node_problem")(name, cur, want),
        update=lambda cur: _u("ohaf_linstor.node_diff")(cur, want),
        create=create, modify=modify)


def node_absent(name, controllers=None):
    """A LINSTOR node is not registered (LINSTOR refuses while it holds resources).

    .. code-block:: yaml

        linstor-node-delta-gone:
          linstor.node_absent:
            - name: delta
            - controllers: linstor://10.0.0.1
    """
    return _absent(
        name, f"Node {name}", "node", done=f"Node {name} deleted",
        read=lambda: __salt__["linstor.node_get"](name, controllers=controllers),
        old=lambda cur: {"address": cur["address"], "node_type": cur["node_type"]},
        delete=lambda cur: __salt__["linstor.node_delete"](name, controllers=controllers))


# --------------------------------------------------------------------------- storage pools
def storage_pool_present(name, node, driver, driver_pool=None, properties=None,
                         delete_properties=None, controllers=None):
    """A storage pool exists on a node with this driver/backing pool and these properties.

    The pool is read; an absent pool is created with its driver, backing pool and
    properties in one request; an existing one gets only the properties the state names
    that differ (one PUT). An existing pool with another driver or driver_pool fails the
    state: it is never deleted and recreated (that would drop its volumes).

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
        pool properties to set / keys to remove; only differing keys are written
    controllers
        controller URI(s), e.g. ``linstor://10.0.0.1``

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
    want = {}

    def precheck():
        kind = __salt__["linstor.normalize_driver"](driver)
        want.update(_u("ohaf_linstor.pool_want")(
            node, kind, driver_pool, properties, delete_properties))

    def create():
        __salt__["linstor.storage_pool_create"](
            node, name, want["driver"], driver_pool=want["driver_pool"], properties=properties,
            controllers=controllers)

    def modify(cur, changes):
        to_set, to_delete = _u("ohaf_linstor.props_split")(changes["properties"])
        __salt__["linstor.storage_pool_modify"](
            node, name, properties=to_set, delete_properties=to_delete, controllers=controllers)

    return _present(
        name, f"Storage pool {name} on {node}", "storage_pool", precheck=precheck,
        done=f"Storage pool {name} created on {node}",
        read=lambda: __salt__["linstor.storage_pool_get"](node, name, controllers=controllers),
        new=lambda: _u("ohaf_linstor.pool_new")(want),
        problem=lambda cur: _u("ohaf_linstor.pool_problem")(name, cur, want),
        update=lambda cur: _u("ohaf_linstor.pool_diff")(cur, want),
        create=create, modify=modify)


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
        name, f"Storage pool {name} on {node}", "storage_pool",
        done=f"Storage pool {name} deleted from {node}",
        read=lambda: __salt__["linstor.storage_pool_get"](node, name, controllers=controllers),
        old=lambda cur: {"node": node, "driver": cur["driver"], "driver_pool": cur["driver_pool"]},
        delete=lambda cur: __salt__["linstor.storage_pool_delete"](
            node, name, controllers=controllers))


# --------------------------------------------------------------------------- resource groups
def resource_group_present(name, place_count=None, storage_pool=None, diskless_on_remaining=None,
                           description=None, properties=None, delete_properties=None,
                           controllers=None):
    """A resource group exists with these auto-place settings and properties.

    name
        resource group name (LINSTOR compares names case-insensitively)
    place_count / storage_pool / diskless_on_remaining / description
        auto-place settings; left at ``None`` they are not managed. ``storage_pool`` is a
        pool name, ``"a,b"`` or a list (compared as a set)
    properties / delete_properties
        group properties to set / keys to remove (other keys are left alone)
    controllers
        controller URI(s), e.g. ``linstor://10.0.0.1``

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
    want = {}

    def precheck():
        want.update(_u("ohaf_linstor.rg_want")(
            place_count, storage_pool, diskless_on_remaining, description, properties,
            delete_properties))

    def create():
        __salt__["linstor.resource_group_create"](
            name, place_count=place_count, storage_pool=want["storage_pool"],
            diskless_on_remaining=diskless_on_remaining, description=description,
            properties=properties, controllers=controllers)

    def modify(cur, changes):
        __salt__["linstor.resource_group_modify"](
            name, controllers=controllers, **_u("ohaf_linstor.rg_modify_args")(changes))

    return _present(
        name, f"Resource group {name}", "resource_group", precheck=precheck,
        read=lambda: __salt__["linstor.resource_group_get"](name, controllers=controllers),
        new=lambda: _u("ohaf_linstor.rg_new")(want),
        update=lambda cur: _u("ohaf_linstor.rg_diff")(cur, want),
        create=create, modify=modify)


def resource_group_absent(name, controllers=None):
    """A resource group does not exist (LINSTOR refuses while resource definitions use it).

    .. code-block:: yaml

        linstor-rg-old-gone:
          linstor.resource_group_absent:
            - name: old_group
            - controllers: linstor://10.0.0.1
    """
    return _absent(
        name, f"Resource group {name}", "resource_group", done=f"Resource group {name} deleted",
        read=lambda: __salt__["linstor.resource_group_get"](name, controllers=controllers),
        old=lambda cur: cur,
        delete=lambda cur: __salt__["linstor.resource_group_delete"](
            cur["name"], controllers=controllers))


# --------------------------------------------------------------------------- controller
def controller_properties_present(name, properties=None, delete_properties=None, controllers=None):
    """Controller properties have these values (per key; others are left alone).

    name
        the state's name (any)
    properties / delete_properties
        controller properties to set (one request per key) / keys to remove
    controllers
        controller URI(s), e.g. ``linstor://10.0.0.1``

    .. code-block:: yaml

        linstor-controller-props:
          linstor.controller_properties_present:
            - properties:
                DrbdOptions/Net/protocol: C
            - controllers: linstor://10.0.0.1
    """
    def diff(cur):
        prop_diff = _u("ohaf_linstor.props_diff")(cur, properties, delete_properties)
        return {"properties": prop_diff} if prop_diff else {}

    def apply(cur, changes):
        to_set, to_delete = _u("ohaf_linstor.props_split")(changes["properties"])
        for key, value in to_set.items():
            __salt__["linstor.controller_property_set"](key, value, controllers=controllers)
        for key in to_delete:
            __salt__["linstor.controller_property_delete"](key, controllers=controllers)

    return _run(
        name, "Controller properties", None, diff=diff, apply=apply,
        read=lambda: __salt__["linstor.controller_properties"](controllers=controllers),
        ok="Controller properties are in the desired state")
