"""OpenNebula (oned) execution module, over pyone's XML-RPC bindings.

Connection: every function takes the connection as explicit keyword arguments (under
salt-ssh custom modules cannot read pillar, so the SLS passes them):

    endpoint       oned XML-RPC URL, default ``http://127.0.0.1:2633/RPC2``
    username       \\ together, or ...
    password       /
    one_auth_file  path of a file whose first line is ``user:password`` (oned's one_auth)
    timeout        seconds for connect and for each answer (default 30)
    verify_ssl     verify the certificate of an https endpoint (default True)

Credentials never appear in return values, logs or exception text (``<hidden>``).

The ``*_list``/``*_info`` functions read a whole pool in one call; with ``cache=True`` (what
the ``one`` states use) it is kept for the run and every write re-reads only what it changed
(``_utils/ohaf_one_pool.py``). Direct CLI calls default to ``cache=False`` (a daemon minion
keeps ``__context__`` between jobs). The rest of the logic lives in ``_utils/ohaf_one_*.py``:
``client`` (connection, calls, error messages), ``template`` (normalise, diff, render),
``lcm`` (transient VM states), ``ha`` (Raft, zone, oned.conf, local addresses), ``db``.
"""
from salt.exceptions import CommandExecutionError

try:
    import pyone  # noqa: F401 (availability only: the calls go through ohaf_one_client)

    HAS_PYONE = True
except ImportError:  # pragma: no cover - exercised by __virtual__ only
    HAS_PYONE = False

__virtualname__ = "one"

_NS = "one"  # the run cache namespace (ohaf_cache)


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if HAS_PYONE:
        return __virtualname__
    return (False, "one: the pyone library (OpenNebula XML-RPC bindings) is not importable")


# -- connection, calls, the run cache (_utils/ohaf_one_client.py, ohaf_one_pool.py) -------
def _conn(kwargs):
    return _u("ohaf_one_client.connect")(kwargs)


def _call(conn, method, *args):
    return _u("ohaf_one_client.call")(conn, method, *args)


def _run_all():
    """``cmd.run_all`` for ``ohaf_cmd.run`` (None where it is not loaded: unit tests)."""
    return __salt__.get("cmd.run_all")


def _touch(conn, kind, oid, name=None):
    _u("ohaf_one_pool.touch")(__context__, conn, kind, oid, name)


def clear_cache(**kwargs):
    """Drop this run's cached pools for the given connection.

    CLI Example: ``salt-call one.clear_cache endpoint=... one_auth_file=...``
    """
    _u("ohaf_one_pool.invalidate")(__context__, _conn(kwargs))
    return True


def _list(kind, cache, kwargs):
    return _u("ohaf_one_pool.listing")(__context__, _conn(kwargs), kind, cache)


def _info(kind, ref, cache, kwargs):
    return _u("ohaf_one_pool.info")(__context__, _conn(kwargs), kind, ref, cache)


def lookup_id(kind, ref, cache=False, **kwargs):
    """Id of the ``kind`` (datastore, host, cluster, marketplace) called ``ref`` (name) or
    with id ``ref`` (int); None when it does not exist.

    CLI Example: ``salt-call one.lookup_id cluster prod one_auth_file=/var/lib/one/.one/one_auth``
    """
    kinds = _u("ohaf_one_pool.kinds")()
    if kind not in kinds:
        raise CommandExecutionError(f"one: kind must be one of {', '.join(kinds)}")
    return _u("ohaf_one_pool.lookup")(__context__, _conn(kwargs), kind, ref, cache)


def _require(kind, ref, conn, cache):
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref  # an id: oned itself answers NO_EXISTS if it is wrong
    oid = _u("ohaf_one_pool.lookup")(__context__, conn, kind, ref, cache)
    if oid is None:
        raise CommandExecutionError(f"one: {kind} {ref!r} does not exist")
    return oid


def _cluster_arg(ref, conn, cache):
    """-1 (oned's default cluster) for None/-1, else the id of the named cluster."""
    if ref is None or ref == -1:
        return -1
    return _require("cluster", ref, conn, cache)


# -- templates ---------------------------------------------------------------------------
def normalize_template(template):
    """Normalise a template dict the way oned stores it: attribute names upper-case,
    values strings (``True``/``False`` -> ``YES``/``NO``, numbers -> str, lists of scalars ->
    space-separated string, dicts -> vector attributes), TYPE/DISK_TYPE values upper-case.

    CLI Example: ``salt-call one.normalize_template '{"type": "system_ds", "linstor_auto_place": 2}'``
    """
    return _u("ohaf_one_template.normalize")(template)


def template_string(template, name=None):
    """Render a template dict as OpenNebula template text (values always quoted).

    CLI Example: ``salt-call one.template_string '{"BRIDGE_LIST": "a b"}' name=ds1``
    """
    return _u("ohaf_one_template.render")(normalize_template(template), name=name)


def template_diff(desired, current):
    """``{ATTR: {"old": current, "new": desired}}`` for every attribute of ``desired`` whose
    normalised value differs from ``current`` (an oned template dict). Attributes oned added
    on its own (not in ``desired``) are ignored.

    CLI Example: ``salt-call one.template_diff '{"A": 1}' '{"A": "2"}'``
    """
    return _u("ohaf_one_template.diff")(normalize_template(desired), current)


def _text(template, name=None):
    """Template text for oned: text as given (the ``one`` states send it normalised and
    rendered once), a dict normalised and rendered."""
    return _u("ohaf_one_template.text")(template, name=name)


def _update(kind, name, template, merge, cache, kwargs):
    """``one.<kind>.update`` of the object called ``name``; returns its id."""
    conn = _conn(kwargs)
    oid = _require(kind, name, conn, cache)
    _call(conn, f"{kind}.update", oid, _text(template), 1 if merge else 0)
    _touch(conn, kind, oid)
    return oid


def _delete(kind, name, cache, kwargs):
    """``one.<kind>.delete``; a deleted host/datastore leaves its cluster: clusters re-read."""
    conn = _conn(kwargs)
    oid = _require(kind, name, conn, cache)
    _call(conn, f"{kind}.delete", oid)
    _u("ohaf_one_pool.forget")(__context__, conn, kind, oid)
    if kind != "cluster":
        _u("ohaf_one_pool.invalidate")(__context__, conn, "cluster")
    return True


# -- datastores --------------------------------------------------------------------------
def datastore_list(cache=False, **kwargs):
    """All datastores (one ``one.datastorepool.info`` call).

    CLI Example: ``salt-call one.datastore_list one_auth_file=/var/lib/one/.one/one_auth``
    """
    return _list("datastore", cache, kwargs)


def datastore_info(name, cache=False, **kwargs):
    """The datastore called ``name`` (or with id ``name`` when an int), None if absent.

    CLI Example: ``salt-call one.datastore_info linstor_system one_auth_file=...``
    """
    return _info("datastore", name, cache, kwargs)


def datastore_allocate(name, template, cluster_id=-1, cache=False, **kwargs):
    """Create a datastore from ``template`` (dict, or template text) in cluster
    ``cluster_id`` (id or name; -1 = oned's default cluster). Returns the new id.

    CLI Example: ``salt-call one.datastore_allocate ds1 '{"TYPE": "SYSTEM_DS", "TM_MAD": "linstor"}'``
    """
    conn = _conn(kwargs)
    cid = _cluster_arg(cluster_id, conn, cache)
    oid = int(_call(conn, "datastore.allocate", _text(template, name=name), cid))
    _touch(conn, "datastore", oid, name)
    _touch(conn, "cluster", 0 if cid == -1 else cid)
    return oid


def datastore_update(name, template, merge=True, cache=False, **kwargs):
    """Update a datastore's template; ``merge=True`` (update type 1) only replaces the
    given attributes, ``merge=False`` (type 0) replaces the whole template.

    CLI Example: ``salt-call one.datastore_update ds1 '{"BRIDGE_LIST": "a b c"}'``
    """
    return _update("datastore", name, template, merge, cache, kwargs)


def datastore_delete(name, cache=False, **kwargs):
    """Delete a datastore (oned refuses while it holds images).

    CLI Example: ``salt-call one.datastore_delete ds1``
    """
    return _delete("datastore", name, cache, kwargs)


# -- hosts -------------------------------------------------------------------------------
def host_list(cache=False, **kwargs):
    """All hosts (one ``one.hostpool.info`` call).

    CLI Example: ``salt-call one.host_list one_auth_file=...``
    """
    return _list("host", cache, kwargs)


def host_info(name, cache=False, **kwargs):
    """The host called ``name`` (or with id ``name`` when an int), None if absent.

    CLI Example: ``salt-call one.host_info node1``
    """
    return _info("host", name, cache, kwargs)


def host_allocate(name, im_mad, vm_mad, cluster_id=-1, cache=False, **kwargs):
    """Create a host (``onehost create``): ``one.host.allocate(name, im_mad, vm_mad,
    cluster)``; ``cluster_id`` is an id or a name, -1 = default cluster. Returns the new id.

    CLI Example: ``salt-call one.host_allocate node1 kvm kvm cluster_id=prod``
    """
    conn = _conn(kwargs)
    cid = _cluster_arg(cluster_id, conn, cache)
    oid = int(_call(conn, "host.allocate", name, im_mad, vm_mad, cid))
    _touch(conn, "host", oid, name)
    _touch(conn, "cluster", 0 if cid == -1 else cid)
    return oid


def host_update(name, template, merge=True, cache=False, **kwargs):
    """Update a host's template (merge=True: update type 1).

    CLI Example: ``salt-call one.host_update node1 '{"RESERVED_CPU": 100}'``
    """
    return _update("host", name, template, merge, cache, kwargs)


def host_delete(name, cache=False, **kwargs):
    """Delete a host (oned refuses while it runs VMs).

    CLI Example: ``salt-call one.host_delete node1``
    """
    return _delete("host", name, cache, kwargs)


# -- clusters ----------------------------------------------------------------------------
def cluster_list(cache=False, **kwargs):
    """All clusters (one ``one.clusterpool.info`` call).

    CLI Example: ``salt-call one.cluster_list``
    """
    return _list("cluster", cache, kwargs)


def cluster_info(name, cache=False, **kwargs):
    """The cluster called ``name`` (or with id ``name`` when an int), None if absent.

    CLI Example: ``salt-call one.cluster_info prod``
    """
    return _info("cluster", name, cache, kwargs)


def cluster_allocate(name, cache=False, **kwargs):
    """Create a cluster, return its id.

    CLI Example: ``salt-call one.cluster_allocate prod``
    """
    conn = _conn(kwargs)
    oid = int(_call(conn, "cluster.allocate", name))
    _touch(conn, "cluster", oid, name)
    return oid


def cluster_update(name, template, merge=True, cache=False, **kwargs):
    """Update a cluster's template (merge=True: update type 1).

    CLI Example: ``salt-call one.cluster_update prod '{"RESERVED_MEM": "10%"}'``
    """
    return _update("cluster", name, template, merge, cache, kwargs)


def cluster_delete(name, cache=False, **kwargs):
    """Delete an (empty) cluster.

    CLI Example: ``salt-call one.cluster_delete prod``
    """
    return _delete("cluster", name, cache, kwargs)


def cluster_addhost(cluster, host, cache=False, **kwargs):
    """Move ``host`` into ``cluster`` (a host is in exactly one cluster). Ids or names.

    CLI Example: ``salt-call one.cluster_addhost prod node1``
    """
    conn = _conn(kwargs)
    cid = _require("cluster", cluster, conn, cache)
    hid = _require("host", host, conn, cache)
    old = (_u("ohaf_one_pool.cached")(__context__, conn, "host", hid) or {}).get(
        "cluster_id")
    _call(conn, "cluster.addhost", cid, hid)
    _touch(conn, "host", hid)
    _touch(conn, "cluster", cid)
    if isinstance(old, int):
        _touch(conn, "cluster", old)
    else:
        _u("ohaf_one_pool.invalidate")(__context__, conn, "cluster")
    return True


def cluster_adddatastore(cluster, datastore, cache=False, **kwargs):
    """Add ``datastore`` to ``cluster`` (a datastore can be in several). Ids or names.

    CLI Example: ``salt-call one.cluster_adddatastore prod linstor_image``
    """
    conn = _conn(kwargs)
    cid = _require("cluster", cluster, conn, cache)
    dsid = _require("datastore", datastore, conn, cache)
    _call(conn, "cluster.adddatastore", cid, dsid)
    _touch(conn, "datastore", dsid)
    _touch(conn, "cluster", cid)
    return True


# -- marketplaces ------------------------------------------------------------------------
def marketplace_list(cache=False, **kwargs):
    """All marketplaces (one ``one.marketpool.info`` call), with ``state`` ENABLED/DISABLED.

    CLI Example: ``salt-call one.marketplace_list one_auth_file=...``
    """
    return _list("marketplace", cache, kwargs)


def marketplace_info(name, cache=False, **kwargs):
    """The marketplace called ``name`` (or with id ``name`` when an int), None if absent.

    CLI Example: ``salt-call one.marketplace_info 'OpenNebula Public'``
    """
    return _info("marketplace", name, cache, kwargs)


def marketplace_enable(name, enable=True, cache=False, **kwargs):
    """Enable (``enable=True``) or disable a marketplace (``onemarket enable|disable``:
    ``one.market.enable``). oned stops monitoring a disabled marketplace (no more requests
    to its endpoint) and refuses imports from it. Ids or names.

    CLI Example: ``salt-call one.marketplace_enable 'OpenNebula Public' enable=False``
    """
    conn = _conn(kwargs)
    oid = _require("marketplace", name, conn, cache)
    _call(conn, "market.enable", oid, bool(enable))
    _touch(conn, "marketplace", oid)
    return True


# -- VMs after a failover ----------------------------------------------------------------
def transient_lcm_states():
    """Which LCM states ``recover_transient`` treats as transient / failed (from pyone,
    completed with oned's own: ``_utils/ohaf_one_lcm.py``).

    CLI Example: ``salt-call one.transient_lcm_states``
    """
    transient, failed = _u("ohaf_one_lcm.classes")()
    return {"transient": sorted(transient.values()), "failed": sorted(failed.values())}


def recover_transient(policy="report", vm_ids=None, include_failed=False, **kwargs):
    """After a front-end failover: find VMs stuck in transient LCM states and, per the
    explicit ``policy``, only report them or ``onevm recover`` them.

    policy:
        report   list them, change nothing (default)
        success  ``one.vm.recover(id, 1)``: tell oned the driver action succeeded
        failure  ``one.vm.recover(id, 0)``: tell oned it failed
        retry    ``one.vm.recover(id, 2)``: re-run the driver action
    vm_ids:
        only consider these VM ids
    include_failed:
        also act on VMs in ``*_FAILURE`` states (driver answered with an error; usually
        ``retry``). They are always listed under ``failed``.

    One ``one.vmpool.info`` call (all users' VMs, state ACTIVE), then one ``one.vm.recover``
    per VM acted on. Returns ``{"policy", "transient": [...], "failed": [...],
    "recovered": [ids], "errors": [{"id", "error"}]}``; VMs in other states are not listed.

    CLI Example: ``salt-call one.recover_transient policy=report one_auth_file=...``
    """
    policies = _u("ohaf_one_lcm.policies")()
    if policy not in policies:
        raise CommandExecutionError(
            f"one: recover policy {policy!r} not allowed; allowed: {', '.join(policies)}")
    return _u("ohaf_one_lcm.recover")(_conn(kwargs), policy, vm_ids, include_failed)


# -- where the one states run: the holder of the front-end VIP (opennebula/register/active.jinja)
def vip_local(vip, cache=False):
    """True when the address ``vip`` is configured on this host (the active front-end under
    pacemaker/rgmanager holds the VIP). One ``ip -o addr show`` per call, or per state run
    with ``cache=True`` (what the one states' ``active_vip`` guard uses: N guarded states
    cost one spawn, not N shells).

    CLI Example: ``salt-call one.vip_local 192.168.100.10``
    """
    want = _u("ohaf_one_ha.ip_of")(vip)
    addrs = _u("ohaf_cache.peek")(__context__, _NS, "local_addresses") if cache else None
    if addrs is None:
        res = _u("ohaf_cmd.run")(_run_all(), ["ip", "-o", "addr", "show"],
                                        what="one: ip -o addr show")
        addrs = _u("ohaf_one_ha.local_addresses")(res["stdout"])
        _u("ohaf_cache.put")(__context__, _NS, "local_addresses", addrs)
    return want in addrs


def version(**kwargs):
    """oned's version (``one.system.version``); a cheap connectivity/credentials check.

    CLI Example: ``salt-call one.version one_auth_file=/var/lib/one/.one/one_auth``
    """
    return _call(_conn(kwargs), "system.version")


# -- readiness: oned answers API requests (not only: its port is open) -------------------
def wait_ready(timeout=60, interval=1, active_vip=None, **kwargs):
    """Wait (bounded) until oned serves API requests: ``one.system.version`` answers.

    oned opens its XML-RPC port before it can serve; under Raft every request is answered
    "Cannot process request, no leader found" until a leader is elected (seconds after the
    start). Connection errors, timeouts and that answer are retried every ``interval``
    seconds for up to ``timeout`` seconds; any other error (credentials rejected...) fails
    at once.

    active_vip
        pacemaker/rgmanager: the front-end VIP. Ready means: the VIP is configured here and
        oned answers here, or the VIP answers ping from another front-end (the cluster runs
        oned there).

    Returns ``{"ready": True, "here": bool, "version", "raft_state", "waited"}``; raises
    CommandExecutionError after the timeout with oned's last answer.

    CLI Example: ``salt-call one.wait_ready timeout=60 one_auth_file=/var/lib/one/.one/one_auth``
    """
    return _u("ohaf_one_client.wait_ready")(
        _conn(kwargs), timeout, interval, active_vip, run_all=_run_all(),
        here=__salt__["one.vip_local"] if active_vip else None)


# -- Raft bootstrap of a fresh database (the OpenNebula front-end HA guide: oned started once
# with FEDERATION SERVER_ID -1, stopped, the id set back: _utils/ohaf_one_ha.py)
def db_bootstrapped(oned_conf="/etc/one/oned.conf", var_location="/var/lib/one",
                    mysql_client="mysql"):
    """True when oned's database is bootstrapped: both version tables oned's bootstrap
    creates (local_db_versioning, db_versioning) hold a row, which is what oned checks before
    it refuses to start in HA. The database comes from oned.conf's DB vector (sqlite:
    ``<var_location>/one.db``, read-only; mysql: the ``mysql`` client, the password in its
    environment, never in argv or output).

    CLI Example: ``salt-call one.db_bootstrapped``
    """
    db = _u("ohaf_one_ha.conf_vector")(_u("ohaf_one_ha.read_text")(oned_conf), "DB")
    return _u("ohaf_one_db.bootstrapped")(_run_all(), db, var_location=var_location,
                                                 client=mysql_client, source=oned_conf)


def federation_server_id(oned_conf="/etc/one/oned.conf"):
    """FEDERATION SERVER_ID of an oned.conf (-1: no Raft).

    CLI Example: ``salt-call one.federation_server_id``
    """
    sid = _u("ohaf_one_ha.federation_server_id")(
        _u("ohaf_one_ha.read_text")(oned_conf))
    if sid is None:
        raise CommandExecutionError(f"one: {oned_conf} has no FEDERATION SERVER_ID")
    return sid


def raft_bootstrap(oned_conf="/etc/one/oned.conf", service="opennebula", timeout=120,
                   zone_id=0, server_name=None, server_rpc=None, **kwargs):
    """Bootstrap a fresh database for Raft, the front-end HA guide's way: oned started once
    with FEDERATION SERVER_ID -1 (solo: it creates its tables, oneadmin from one_auth and the
    default objects), waited for until it answers (``wait_ready``), this server added to the
    zone while solo (``server_name`` + ``server_rpc``: ``onezone server-add``, the id it gets
    must be oned.conf's SERVER_ID), stopped; oned.conf is then put back byte for byte (with
    the Raft SERVER_ID), also when a step fails. The service is left stopped. Does not check
    whether the database needs it: see ``db_bootstrapped`` (the ``one.raft_bootstrapped``
    state does).

    CLI Example: ``salt-call one.raft_bootstrap one_auth_file=/var/lib/one/.one/one_auth``
    """
    original = _u("ohaf_one_ha.read_text")(oned_conf)
    solo = _u("ohaf_one_ha.solo_conf")(original)
    if solo is None:
        raise CommandExecutionError(f"one: {oned_conf} has no FEDERATION SERVER_ID")
    __salt__["service.stop"](service)
    try:
        _u("ohaf_one_ha.rewrite")(oned_conf, solo)
        if not __salt__["service.start"](service):
            raise CommandExecutionError(
                f"one: service {service} did not start with SERVER_ID -1 (see oned.log)")
        ready = wait_ready(timeout=timeout, **kwargs)
        if server_name:
            _add_self(original, int(zone_id), server_name, server_rpc, kwargs)
    finally:
        __salt__["service.stop"](service)
        _u("ohaf_one_ha.rewrite")(oned_conf, original)
    return {"bootstrapped": True, "version": ready["version"], "waited": ready["waited"]}


def _add_self(conf_text, zone_id, name, rpc, kwargs):
    """The solo bootstrap's ``onezone server-add`` of this server (skipped when listed); the
    id oned gives it must be the oned.conf SERVER_ID it starts with next."""
    want = _u("ohaf_one_ha.federation_server_id")(conf_text)
    listed = {s["name"]: s["id"] for s in zone_servers(zone_id, **kwargs)}
    if name not in listed:
        tmpl = _u("ohaf_one_raft.server_template")(name, rpc)
        _call(_conn(kwargs), "zone.addserver", zone_id, tmpl)
        listed = {s["name"]: s["id"] for s in zone_servers(zone_id, **kwargs)}
    if listed.get(name) != want:
        raise CommandExecutionError(
            f"one: zone {zone_id} lists {name} as server {listed.get(name)}, oned.conf "
            f"says SERVER_ID {want}")


# -- zone server pool (Raft) -------------------------------------------------------------
def zone_servers(zone_id=0, **kwargs):
    """The Raft server pool of zone ``zone_id`` (``one.zone.info``): a list of
    ``{"id", "name", "endpoint"}`` in oned's order.

    CLI Example: ``salt-call one.zone_servers 0 one_auth_file=/var/lib/one/.one/one_auth``
    """
    zone = _call(_conn(kwargs), "zone.info", int(zone_id))
    return _u("ohaf_one_ha.zone_servers")(zone)


def zone_server_listed(zone_id, name, **kwargs):
    """True when zone ``zone_id``'s server pool has a server named ``name``.

    CLI Example: ``salt-call one.zone_server_listed 0 cloud-cc01 one_auth_file=...``
    """
    return any(s["name"] == str(name) for s in zone_servers(zone_id, **kwargs))


# -- oned's MySQL/MariaDB server (opennebula.db): read-only checks for the SLS guards and the
# replication start (_utils/ohaf_one_db.py: the mysql client as an argument list, passwords
# in its environment or on its stdin, never in argv, return values, logs or exception text)
def db_exists(name, client="mysql", socket=None):
    """True when the server (root over the unix socket) has a database named exactly
    ``name``.

    CLI Example: ``salt-call one.db_exists opennebula``
    """
    return _u("ohaf_one_db.exists")(_run_all(), name, client=client, socket=socket)


def db_user_granted(user, password, database, client="mysql", socket=None):
    """True when ``user`` logs in over the unix socket with ``password`` and holds
    ``ALL PRIVILEGES ON `database`.*`` (a wrong password or a lost grant: False).

    CLI Example: ``salt-call one.db_user_granted oneadmin PASSWORD opennebula``
    """
    return _u("ohaf_one_db.user_granted")(_run_all(), user, password, database,
                                                 client=client, socket=socket)


def db_user_exists(user, host, client="mysql", socket=None):
    """True when the account ``'user'@'host'`` exists (mysql.user, root over the socket).

    CLI Example: ``salt-call one.db_user_exists replicator 192.168.100.12``
    """
    return _u("ohaf_one_db.user_exists")(_run_all(), user, host, client=client,
                                                socket=socket)


def db_replica_configured(client="mysql", socket=None):
    """True when this server replicates from a master already (SHOW SLAVE STATUS has a row).

    CLI Example: ``salt-call one.db_replica_configured``
    """
    return _u("ohaf_one_db.replica_configured")(_run_all(), client=client, socket=socket)


def db_replication_pending(peer, user, password, wait=120, interval=2, client="mysql",
                           socket=None, port=None):
    """True when this server replicates from nobody yet AND the peer answers
    SHOW MASTER STATUS with the replication credentials; the peer is waited for up to
    ``wait`` seconds (both front-ends' first highstates run side by side), asked every
    ``interval`` seconds with a 5 s connect timeout. False at once when replication is
    configured already, False when the peer did not answer in time.

    CLI Example: ``salt-call one.db_replication_pending 192.168.100.12 replicator PASSWORD``
    """
    return _u("ohaf_one_db.replication_pending")(
        _run_all(), peer, user, password, wait=wait, interval=interval, client=client,
        socket=socket, port=port)


def db_replication_start(peer, user, password, client="mysql", socket=None, port=None):
    """Replicate from ``peer`` at its CURRENT binlog position: reads the peer's
    SHOW MASTER STATUS with the replication account, then CHANGE MASTER TO it + START SLAVE
    here (root over the socket; the statement on the client's stdin, the password never in
    argv). Does not check whether replication is configured already (the SLS guards it with
    ``db_replica_configured``). Returns ``{"master_host", "master_log_file",
    "master_log_pos"}``.

    CLI Example: ``salt-call one.db_replication_start 192.168.100.12 replicator PASSWORD``
    """
    return _u("ohaf_one_db.replication_start")(_run_all(), peer, user, password,
                                                      client=client, socket=socket, port=port)
