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

Reads and the run cache: the ``*_list``/``*_info`` functions read a whole pool
(``one.datastorepool.info`` / ``one.hostpool.info`` / ``one.clusterpool.info``) in one call.
With ``cache=True`` (what the ``one`` states use) the pool is kept in ``__context__`` for the
run, so N states cost one pool call per kind. Every write from this module invalidates what it
changed: the written object is re-read by id (``one.<kind>.info``) the next time it is needed,
objects it may have changed indirectly (cluster membership) are invalidated the same way.
Direct CLI calls default to ``cache=False`` (a daemon minion keeps ``__context__`` between jobs).

Transient VM states (``recover_transient``) are derived from pyone's own ``LCM_STATE`` enum
plus the states oned has and pyone's enum lacks: see ``TRANSIENT_LCM_STATES`` /
``transient_lcm_states()``.

Readiness (``wait_ready``): oned's XML-RPC port opens before oned can serve requests; under
Raft it answers "Cannot process request, no leader found" until a leader is elected. Raft
bootstrap (``db_bootstrapped``, ``raft_bootstrap``): a fresh database has to be bootstrapped
by one start with FEDERATION SERVER_ID -1 before oned starts with its Raft SERVER_ID.
"""
import ipaddress
import logging
import os
import re
import sqlite3
import time
import xmlrpc.client

from salt.exceptions import CommandExecutionError

try:
    import pyone
    import requests
    from pyone import server_xrpc

    HAS_PYONE = True
except ImportError:  # pragma: no cover - exercised by __virtual__ only
    HAS_PYONE = False

log = logging.getLogger(__name__)

__virtualname__ = "one"

DEFAULT_ENDPOINT = "http://127.0.0.1:2633/RPC2"
DEFAULT_TIMEOUT = 30
HIDDEN = "<hidden>"
_CONN_KEYS = ("endpoint", "username", "password", "one_auth_file", "timeout", "verify_ssl")

# one.vm.recover operations (oned VirtualMachineRecover)
RECOVER_OPS = {"failure": 0, "success": 1, "retry": 2}
POLICIES = ("report",) + tuple(RECOVER_OPS)

# VM_STATE ACTIVE: LCM_STATE is only meaningful for ACTIVE VMs
_VM_ACTIVE = 3


def __virtual__():
    if HAS_PYONE:
        return __virtualname__
    return (False, "one: the pyone library (OpenNebula XML-RPC bindings) is not importable")


# --------------------------------------------------------------------------------------
# transient LCM states, from pyone.LCM_STATE
# --------------------------------------------------------------------------------------
# A VM is "transient" when oned is waiting for a driver (TM, VMM, IM) to report back on an
# action. After a front-end failover the driver that ran the action died with the old oned,
# so the answer never comes and the VM sits in that state until `onevm recover`.
#   transient: every LCM state whose name starts with one of _TRANSIENT_PREFIXES
#              (PROLOG*, BOOT*, EPILOG*, SHUTDOWN*, SAVE_*, MIGRATE, HOTPLUG*, DISK_SNAPSHOT*,
#               DISK_RESIZE*, CLEANUP*) plus UNKNOWN (recover --success sets RUNNING) ...
#   ... except the *_FAILURE states: there the driver DID answer (with an error); oned is not
#       waiting, an operator must decide (usually `retry`). They are reported as "failed" and
#       only acted on with include_failed=True.
#   not transient: LCM_INIT, RUNNING, and CANCEL/FAILURE (legacy, never set by oned >= 5).
#   BACKUP (69), BACKUP_POWEROFF (70), RESTORE (71): oned 6.10 and 7.4 (include/VirtualMachine.h
#   LcmState) have them, pyone's LCM_STATE enum (7.3) ends at 68: _ONED_LCM_STATES adds them.
#   They are transient: the backup/restore driver died with the old oned and nothing in oned
#   finishes them on its own (its scheduled-action manager only counts VMs in BACKUP*).
#   `onevm recover` (LifeCycleManager::recover): --success runs trigger_backup_success
#   (BACKUP -> RUNNING, BACKUP_POWEROFF -> POWEROFF) / trigger_disk_restore_success
#   (RESTORE -> POWEROFF), --failure the matching *_failure (same target states, the backup
#   or restore marked failed). --retry does nothing for them (LifeCycleManager::retry has no
#   action for BACKUP*, RESTORE, HOTPLUG*, DISK_*, CLEANUP*, UNKNOWN: only the *_FAILURE
#   states and PROLOG/BOOT/EPILOG/SHUTDOWN/SAVE/MIGRATE re-run their driver action).
_TRANSIENT_PREFIXES = ("PROLOG", "BOOT", "EPILOG", "SHUTDOWN", "SAVE_", "MIGRATE", "HOTPLUG",
                       "DISK_SNAPSHOT", "DISK_RESIZE", "CLEANUP", "BACKUP", "RESTORE")
# LCM states of oned 6.10 / 7.4 (VirtualMachine.h LcmState) missing from pyone's enum
_ONED_LCM_STATES = {69: "BACKUP", 70: "BACKUP_POWEROFF", 71: "RESTORE"}


def _lcm_states():
    """{value: name} of every LCM state: pyone's enum, completed with _ONED_LCM_STATES."""
    states = {} if not HAS_PYONE else {s.value: s.name for s in pyone.LCM_STATE}
    for value, name in _ONED_LCM_STATES.items():
        states.setdefault(value, name)
    return states


def _classify_lcm_states():
    transient, failed = {}, {}
    if not HAS_PYONE:
        return transient, failed
    for value, name in sorted(_lcm_states().items()):
        if name.endswith("_FAILURE"):
            failed[value] = name
        elif name.startswith(_TRANSIENT_PREFIXES) or name == "UNKNOWN":
            transient[value] = name
    return transient, failed


TRANSIENT_LCM_STATES, FAILED_LCM_STATES = _classify_lcm_states()


def transient_lcm_states():
    """Which LCM states ``recover_transient`` treats as transient / failed (from pyone).

    CLI Example: ``salt-call one.transient_lcm_states``
    """
    return {"transient": sorted(TRANSIENT_LCM_STATES.values()),
            "failed": sorted(FAILED_LCM_STATES.values())}


def _lcm_name(value):
    try:
        return _lcm_states().get(int(value), f"LCM_{value}")
    except (ValueError, TypeError):
        return f"LCM_{value}"


# --------------------------------------------------------------------------------------
# connection
# --------------------------------------------------------------------------------------
class _NotFound(CommandExecutionError):
    """oned answered NO_EXISTS (0x0400)."""


class _Unavailable(CommandExecutionError):
    """oned is not serving (yet): connection refused/failed, no answer, HTTP error, or under
    Raft "Cannot process request, no leader found" (what wait_ready retries on)."""


if HAS_PYONE:

    class _Transport(server_xrpc.RequestsTransport):
        """pyone's requests transport with a per-request timeout (pyone's own timeout
        option changes socket.setdefaulttimeout for the whole process)."""

        def __init__(self, timeout):
            super().__init__()
            self.timeout = timeout

        def request(self, host, handler, request_body, verbose=False):
            url = self._build_url(host, handler)
            resp = requests.post(url, data=request_body, headers=self.headers,
                                 verify=self.https_verify,
                                 timeout=(min(self.timeout, 10), self.timeout))
            try:
                resp.raise_for_status()
            except requests.RequestException as exc:
                raise xmlrpc.client.ProtocolError(url, resp.status_code, str(exc),
                                                  resp.headers) from None
            return self.parse_response(resp)


def _safe_endpoint(endpoint):
    """Endpoint without any user:password@ part."""
    return re.sub(r"^(\w+://)[^@/]*@", r"\1", str(endpoint))


class _Conn:
    __slots__ = ("endpoint", "session", "user", "timeout", "verify", "secrets")

    def __repr__(self):
        return f"<one connection {_safe_endpoint(self.endpoint)}>"


def _conn(kwargs):
    """Build the connection from the keyword arguments (ignores Salt's __pub_* keys)."""
    unknown = sorted(k for k in kwargs if not k.startswith("__") and k not in _CONN_KEYS)
    if unknown:
        raise CommandExecutionError(
            f"one: unknown argument(s) {', '.join(unknown)}; connection arguments are "
            f"{', '.join(_CONN_KEYS)}")
    conn = _Conn()
    conn.endpoint = kwargs.get("endpoint") or DEFAULT_ENDPOINT
    conn.timeout = float(kwargs.get("timeout") or DEFAULT_TIMEOUT)
    verify = kwargs.get("verify_ssl")
    conn.verify = True if verify is None else bool(verify)
    username, password = kwargs.get("username"), kwargs.get("password")
    auth_file = kwargs.get("one_auth_file")
    if username is not None or password is not None:
        if not username or password is None or password == "":
            raise CommandExecutionError(
                "one: pass both username and password (or one_auth_file instead)")
        session = f"{username}:{password}"
    elif auth_file:
        try:
            with open(auth_file, encoding="utf-8") as fh:
                session = fh.readline().strip()
        except OSError as exc:
            raise CommandExecutionError(
                f"one: cannot read one_auth_file {auth_file}: {exc.strerror}") from None
        if ":" not in session or session.startswith(":"):
            raise CommandExecutionError(
                f"one: one_auth_file {auth_file} must hold 'user:password' on its first line")
        username, password = session.split(":", 1)
    else:
        raise CommandExecutionError(
            "one: no credentials: pass username and password, or one_auth_file")
    conn.session = session
    conn.user = username
    conn.secrets = sorted({s for s in (session, password) if s}, key=len, reverse=True)
    return conn


def _redact(text, conn):
    text = str(text)
    for secret in conn.secrets:
        text = text.replace(secret, HIDDEN)
    return _safe_endpoint(text) if "://" in text else text


# oned's answer (RequestManager, Raft) while no leader is elected: the port is open already
_NO_LEADER = "no leader found"


def _call(conn, method, *args):
    """Call ``one.<method>`` through pyone; every failure becomes a CommandExecutionError
    with a clear message and without credentials."""
    where = _safe_endpoint(conn.endpoint)
    log.debug("one: %s on %s", method, where)
    try:
        server = pyone.OneServer(conn.endpoint, session=conn.session,
                                 https_verify=conn.verify)
        transport = _Transport(conn.timeout)
        transport.set_https(conn.endpoint.startswith("https"))
        transport.set_https_verify(conn.verify)
        server._ServerProxy__transport = transport  # pylint: disable=protected-access
        func = server
        for part in method.split("."):
            func = getattr(func, part)
        return func(*args)
    except pyone.OneAuthenticationException:
        msg = (f"one: oned at {where} rejected the credentials "
               f"(authentication failed on one.{method})")
        exc_cls = CommandExecutionError
    except pyone.OneAuthorizationException as exc:
        msg = f"one: not authorized for one.{method} on {where}: {_redact(exc, conn)}"
        exc_cls = CommandExecutionError
    except pyone.OneNoExistsException as exc:
        msg = f"one: one.{method}: {_redact(exc, conn)}"
        exc_cls = _NotFound
    except pyone.OneException as exc:
        msg = f"one: one.{method} failed: {_redact(exc, conn)}"
        exc_cls = _Unavailable if _NO_LEADER in str(exc) else CommandExecutionError
    except requests.exceptions.Timeout:
        msg = f"one: oned at {where} did not answer within {conn.timeout:g}s (one.{method})"
        exc_cls = _Unavailable
    except requests.exceptions.ConnectionError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else "connection failed"
        msg = f"one: cannot reach oned at {where}: {reason} (one.{method})"
        exc_cls = _Unavailable
    except xmlrpc.client.ProtocolError as exc:
        msg = f"one: oned at {where} answered HTTP {exc.errcode} to one.{method}"
        exc_cls = _Unavailable
    except Exception as exc:  # pylint: disable=broad-except
        msg = f"one: one.{method} failed: {type(exc).__name__}: {_redact(exc, conn)}"
        exc_cls = CommandExecutionError
    raise exc_cls(msg) from None


# --------------------------------------------------------------------------------------
# records (plain, JSON-able dicts built from pyone's binding objects)
# --------------------------------------------------------------------------------------
def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return "" if value is None else str(value)


def _ids(obj):
    return sorted(int(i) for i in (getattr(obj, "ID", None) or [])) if obj is not None else []


# Datastore::DatastoreType (oned 6.10 / 7.4 include/Datastore.h). pyone's DATASTORE_TYPES
# has only IMAGE/SYSTEM/FILE: oned stores TYPE 3 for a BACKUP_DS (rsync, restic).
DATASTORE_TYPES = {0: "IMAGE_DS", 1: "SYSTEM_DS", 2: "FILE_DS", 3: "BACKUP_DS"}


def _ds_type_name(value):
    try:
        return DATASTORE_TYPES.get(int(value), str(value))
    except (ValueError, TypeError):
        return str(value)


def _ds_record(ds):
    ds_type = _ds_type_name(ds.TYPE)
    return {
        "id": int(ds.ID), "name": ds.NAME, "type": ds_type,
        "ds_mad": ds.DS_MAD, "tm_mad": ds.TM_MAD, "base_path": ds.BASE_PATH,
        "state": "DISABLED" if ds.STATE == 1 else "READY",
        "clusters": _ids(ds.CLUSTERS), "images": _ids(ds.IMAGES),
        "total_mb": ds.TOTAL_MB, "free_mb": ds.FREE_MB, "used_mb": ds.USED_MB,
        "template": _plain(ds.TEMPLATE or {}),
    }


def _host_record(host):
    try:
        state = pyone.HOST_STATES(int(host.STATE)).name
    except (ValueError, TypeError):
        state = str(host.STATE)
    return {
        "id": int(host.ID), "name": host.NAME, "state": state,
        "im_mad": host.IM_MAD, "vm_mad": host.VM_MAD,
        "cluster_id": int(host.CLUSTER_ID), "cluster": host.CLUSTER,
        "vms": _ids(host.VMS), "template": _plain(host.TEMPLATE or {}),
    }


def _cluster_record(cluster):
    return {
        "id": int(cluster.ID), "name": cluster.NAME,
        "hosts": _ids(cluster.HOSTS), "datastores": _ids(cluster.DATASTORES),
        "vnets": _ids(cluster.VNETS), "template": _plain(cluster.TEMPLATE or {}),
    }


def _market_record(market):
    return {
        "id": int(market.ID), "name": market.NAME, "market_mad": market.MARKET_MAD,
        "state": "DISABLED" if str(market.STATE) == "1" else "ENABLED",
        "apps": _ids(market.MARKETPLACEAPPS), "template": _plain(market.TEMPLATE or {}),
    }


# kind -> (pool method, pool element, info method, record builder)
_KINDS = {
    "datastore": ("datastorepool.info", "DATASTORE", "datastore.info", _ds_record),
    "host": ("hostpool.info", "HOST", "host.info", _host_record),
    "cluster": ("clusterpool.info", "CLUSTER", "cluster.info", _cluster_record),
    "marketplace": ("marketpool.info", "MARKETPLACE", "market.info", _market_record),
}


# --------------------------------------------------------------------------------------
# run cache in __context__
# --------------------------------------------------------------------------------------
def _cache(conn):
    root = __context__.setdefault("one.pools", {})
    return root.setdefault((conn.endpoint, conn.user), {})


def _entry(kind, conn, cache):
    """The pool entry {"by_id": {id: record}, "stale": set()}, loaded if needed."""
    pools = _cache(conn)
    entry = pools.get(kind) if cache else None
    if entry is None:
        pool_method, element, _, build = _KINDS[kind]
        pool = _call(conn, pool_method)
        entry = {"by_id": {}, "stale": set()}
        for obj in getattr(pool, element, None) or []:
            rec = build(obj)
            entry["by_id"][rec["id"]] = rec
        pools[kind] = entry
    return entry


def _refresh(kind, conn, entry, oid):
    """Re-read one stale object by id."""
    _, _, info_method, build = _KINDS[kind]
    try:
        entry["by_id"][oid] = build(_call(conn, info_method, oid))
    except _NotFound:
        entry["by_id"].pop(oid, None)
    entry["stale"].discard(oid)


def _match(entry, ref):
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref if ref in entry["by_id"] else None
    for oid, rec in entry["by_id"].items():
        if rec.get("name") == ref:
            return oid
    return None


def _touch(conn, kind, oid, name=None):
    """After a write: the object is stale; the next read re-fetches it by id."""
    entry = _cache(conn).get(kind)
    if entry is None:
        return
    if oid not in entry["by_id"]:
        entry["by_id"][oid] = {"id": oid, "name": name}
    entry["stale"].add(oid)


def _forget(conn, kind, oid):
    entry = _cache(conn).get(kind)
    if entry is not None:
        entry["by_id"].pop(oid, None)
        entry["stale"].discard(oid)


def _invalidate(conn, kind):
    _cache(conn).pop(kind, None)


def clear_cache(**kwargs):
    """Drop this run's cached pools for the given connection.

    CLI Example: ``salt-call one.clear_cache endpoint=... one_auth_file=...``
    """
    conn = _conn(kwargs)
    __context__.get("one.pools", {}).pop((conn.endpoint, conn.user), None)
    return True


def _list(kind, cache, kwargs):
    conn = _conn(kwargs)
    entry = _entry(kind, conn, cache)
    for oid in sorted(entry["stale"]):
        _refresh(kind, conn, entry, oid)
    return [dict(entry["by_id"][oid]) for oid in sorted(entry["by_id"])]


def _info(kind, ref, cache, kwargs):
    conn = _conn(kwargs)
    entry = _entry(kind, conn, cache)
    oid = _match(entry, ref)
    if oid is None:
        return None
    if oid in entry["stale"]:
        _refresh(kind, conn, entry, oid)
    rec = entry["by_id"].get(oid)
    return dict(rec) if rec else None


def _lookup(kind, ref, conn, cache=True):
    """id of a datastore/host/cluster given by id (int) or name (str), None if absent.
    Uses the cached pool without re-reading stale objects (ids and names do not change)."""
    if ref is None:
        return None
    oid = _match(_entry(kind, conn, cache), ref)
    return oid


def lookup_id(kind, ref, cache=False, **kwargs):
    """Id of the ``kind`` (datastore, host, cluster) called ``ref`` (name) or with id
    ``ref`` (int); None when it does not exist.

    CLI Example: ``salt-call one.lookup_id cluster prod one_auth_file=/var/lib/one/.one/one_auth``
    """
    if kind not in _KINDS:
        raise CommandExecutionError(f"one: kind must be one of {', '.join(_KINDS)}")
    return _lookup(kind, ref, _conn(kwargs), cache)


def _require(kind, ref, conn, cache):
    if isinstance(ref, int) and not isinstance(ref, bool):
        return ref  # an id: oned itself answers NO_EXISTS if it is wrong
    oid = _lookup(kind, ref, conn, cache)
    if oid is None:
        raise CommandExecutionError(f"one: {kind} {ref!r} does not exist")
    return oid


def _cluster_arg(ref, conn, cache):
    """-1 (oned's default cluster) for None/-1, else the id of the named cluster."""
    if ref is None or ref == -1:
        return -1
    return _require("cluster", ref, conn, cache)


# --------------------------------------------------------------------------------------
# templates
# --------------------------------------------------------------------------------------
_ATTR_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# attributes oned stores canonicalised upper-case (Datastore::str_to_type, disk types)
_UPPER_VALUES = ("TYPE", "DISK_TYPE")


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


def normalize_template(template):
    """Normalise a template dict the way oned stores it: attribute names upper-case,
    values strings (``True``/``False`` -> ``YES``/``NO``, numbers -> str, lists of scalars ->
    space-separated string, dicts -> vector attributes), TYPE/DISK_TYPE values upper-case.

    CLI Example: ``salt-call one.normalize_template '{"type": "system_ds", "linstor_auto_place": 2}'``
    """
    if template is None:
        return {}
    if not isinstance(template, dict):
        raise CommandExecutionError("one: template must be a dict of ATTRIBUTE: value")
    out = {}
    for key, value in template.items():
        name = str(key).upper()
        if not _ATTR_NAME.match(name):
            raise CommandExecutionError(f"one: invalid template attribute name {key!r}")
        if value is None:
            raise CommandExecutionError(
                f"one: template attribute {name} has no value (removing attributes is not "
                "supported: updates merge)")
        if isinstance(value, dict):
            vec = {}
            for vkey, vval in value.items():
                vname = str(vkey).upper()
                if not _ATTR_NAME.match(vname):
                    raise CommandExecutionError(
                        f"one: invalid attribute name {vkey!r} in vector {name}")
                vec[vname] = _scalar(f"{name}/{vname}", vval)
            out[name] = vec
        else:
            text = _scalar(name, value)
            out[name] = text.upper() if name in _UPPER_VALUES else text
    return out


def _quote(text):
    return '"' + text.replace('"', '\\"') + '"'


def template_string(template, name=None):
    """Render a template dict as OpenNebula template text (values always quoted).

    CLI Example: ``salt-call one.template_string '{"BRIDGE_LIST": "a b"}' name=ds1``
    """
    norm = normalize_template(template)
    lines = []
    if name is not None:
        lines.append(f"NAME = {_quote(_scalar('NAME', name))}")
    for key, value in norm.items():
        if isinstance(value, dict):
            inner = ",\n  ".join(f"{k} = {_quote(v)}" for k, v in value.items())
            lines.append(f"{key} = [\n  {inner} ]")
        else:
            lines.append(f"{key} = {_quote(value)}")
    return "\n".join(lines) + "\n"


def _template_arg(template, name=None):
    if isinstance(template, str):
        if name is not None:
            return f"NAME = {_quote(_scalar('NAME', name))}\n{template}"
        return template
    return template_string(template, name=name)


def template_diff(desired, current):
    """``{ATTR: {"old": current, "new": desired}}`` for every attribute of ``desired`` whose
    normalised value differs from ``current`` (an oned template dict). Attributes oned added
    on its own (not in ``desired``) are ignored.

    CLI Example: ``salt-call one.template_diff '{"A": 1}' '{"A": "2"}'``
    """
    want = normalize_template(desired)
    have = current or {}
    diff = {}
    for key, value in want.items():
        old = have.get(key)
        if isinstance(value, dict):
            old_cmp = ({str(k).upper(): str(v) for k, v in old.items()}
                       if isinstance(old, dict) else old)
        else:
            old_cmp = old.upper() if (key in _UPPER_VALUES and isinstance(old, str)) else old
        if old_cmp != value:
            diff[key] = {"old": old, "new": value}
    return diff


def _merge_type(merge):
    return 1 if merge else 0


def _update(kind, name, template, merge, cache, kwargs):
    """``one.<kind>.update`` of the object called ``name``; returns its id."""
    conn = _conn(kwargs)
    oid = _require(kind, name, conn, cache)
    _call(conn, f"{kind}.update", oid, _template_arg(template), _merge_type(merge))
    _touch(conn, kind, oid)
    return oid


def _delete(kind, name, cache, kwargs):
    """``one.<kind>.delete``; a deleted host/datastore leaves its cluster: clusters re-read."""
    conn = _conn(kwargs)
    oid = _require(kind, name, conn, cache)
    _call(conn, f"{kind}.delete", oid)
    _forget(conn, kind, oid)
    if kind != "cluster":
        _invalidate(conn, "cluster")
    return True


# --------------------------------------------------------------------------------------
# datastores
# --------------------------------------------------------------------------------------
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
    oid = int(_call(conn, "datastore.allocate", _template_arg(template, name=name), cid))
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


# --------------------------------------------------------------------------------------
# hosts
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# clusters
# --------------------------------------------------------------------------------------
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
    entry = _cache(conn).get("host")
    old = (entry or {}).get("by_id", {}).get(hid, {}).get("cluster_id")
    _call(conn, "cluster.addhost", cid, hid)
    _touch(conn, "host", hid)
    _touch(conn, "cluster", cid)
    if isinstance(old, int):
        _touch(conn, "cluster", old)
    else:
        _invalidate(conn, "cluster")
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


# --------------------------------------------------------------------------------------
# marketplaces
# --------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------
# VMs after a failover
# --------------------------------------------------------------------------------------
def _vm_hostname(vm):
    try:
        history = vm.HISTORY_RECORDS.HISTORY
        return history[-1].HOSTNAME if history else None
    except AttributeError:
        return None


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
    if policy not in POLICIES:
        raise CommandExecutionError(
            f"one: recover policy {policy!r} not allowed; allowed: {', '.join(POLICIES)}")
    conn = _conn(kwargs)
    wanted = None if vm_ids is None else {int(i) for i in vm_ids}
    pool = _call(conn, "vmpool.info", -2, -1, -1, _VM_ACTIVE)
    transient, failed = [], []
    for vm in getattr(pool, "VM", None) or []:
        if int(vm.STATE) != _VM_ACTIVE:
            continue
        if wanted is not None and int(vm.ID) not in wanted:
            continue
        lcm = int(vm.LCM_STATE)
        item = {"id": int(vm.ID), "name": vm.NAME, "lcm_state": _lcm_name(lcm),
                "host": _vm_hostname(vm)}
        if lcm in TRANSIENT_LCM_STATES:
            transient.append(item)
        elif lcm in FAILED_LCM_STATES:
            failed.append(item)
    result = {"policy": policy, "transient": transient, "failed": failed,
              "recovered": [], "errors": []}
    if policy == "report":
        return result
    targets = transient + (failed if include_failed else [])
    for item in sorted(targets, key=lambda i: i["id"]):
        try:
            _call(conn, "vm.recover", item["id"], RECOVER_OPS[policy])
            result["recovered"].append(item["id"])
        except CommandExecutionError as exc:
            result["errors"].append({"id": item["id"], "error": str(exc)})
    return result


# --------------------------------------------------------------------------------------
# where the one states run: the holder of the front-end VIP (opennebula/register/active.jinja)
# --------------------------------------------------------------------------------------
def _local_addresses():
    """Every address configured on this host, from ``ip -o addr show`` (one spawn)."""
    ret = __salt__["cmd.run_all"](["ip", "-o", "addr", "show"], python_shell=False,
                                  ignore_retcode=True)
    if ret["retcode"] != 0:
        raise CommandExecutionError(
            f"one: ip -o addr show failed (rc {ret['retcode']}): "
            f"{(ret.get('stderr') or ret.get('stdout') or '').strip()[:200]}")
    addrs = set()
    for line in (ret.get("stdout") or "").splitlines():
        tokens = line.split()
        for i, tok in enumerate(tokens[:-1]):
            if tok in ("inet", "inet6"):
                try:
                    addrs.add(ipaddress.ip_address(tokens[i + 1].split("/")[0]))
                except ValueError:
                    pass
    return addrs


def vip_local(vip, cache=False):
    """True when the address ``vip`` is configured on this host (the active front-end under
    pacemaker/rgmanager holds the VIP). One ``ip -o addr show`` per call, or per state run
    with ``cache=True`` (what the one states' ``active_vip`` guard uses: N guarded states
    cost one spawn, not N shells).

    CLI Example: ``salt-call one.vip_local 192.168.100.10``
    """
    try:
        want = ipaddress.ip_address(str(vip).split("/")[0])
    except ValueError:
        raise CommandExecutionError(f"one: vip_local: {vip!r} is not an IP address") from None
    if cache:
        addrs = __context__.get("one.local_addresses")
        if addrs is None:
            addrs = __context__["one.local_addresses"] = _local_addresses()
    else:
        addrs = _local_addresses()
    return want in addrs


def version(**kwargs):
    """oned's version (``one.system.version``); a cheap connectivity/credentials check.

    CLI Example: ``salt-call one.version one_auth_file=/var/lib/one/.one/one_auth``
    """
    return _call(_conn(kwargs), "system.version")


# --------------------------------------------------------------------------------------
# readiness: oned answers API requests (not only: its port is open)
# --------------------------------------------------------------------------------------
# RaftManager.h: the server's role in one.zone.raftstatus STATE
RAFT_STATES = {0: "SOLO", 1: "CANDIDATE", 2: "FOLLOWER", 3: "LEADER"}


def _raft_state(conn):
    try:
        raft = _call(conn, "zone.raftstatus")
        return RAFT_STATES.get(int(raft.STATE), str(raft.STATE))
    except (CommandExecutionError, AttributeError, ValueError, TypeError):
        return None


def _ping(vip):
    ret = __salt__["cmd.run_all"](["ping", "-c", "1", "-W", "1", str(vip)], python_shell=False,
                                  ignore_retcode=True, output_loglevel="quiet")
    return ret["retcode"] == 0


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
    conn = _conn(kwargs)
    timeout, interval = float(timeout), max(0.05, float(interval))
    conn.timeout = max(1.0, min(conn.timeout, timeout))
    start = time.monotonic()
    deadline = start + timeout
    last = "no answer"
    while True:
        here = True if not active_vip else vip_local(active_vip)
        if here:
            try:
                version_ = _call(conn, "system.version")
                return {"ready": True, "here": True, "version": str(version_),
                        "raft_state": _raft_state(conn),
                        "waited": round(time.monotonic() - start, 1)}
            except _Unavailable as exc:
                last = str(exc)
        elif _ping(active_vip):
            return {"ready": True, "here": False, "version": None, "raft_state": None,
                    "waited": round(time.monotonic() - start, 1)}
        else:
            last = f"{active_vip} is not configured here and does not answer ping"
        if time.monotonic() + interval > deadline:
            raise CommandExecutionError(
                f"one: oned at {_safe_endpoint(conn.endpoint)} not ready after {timeout:g}s: "
                f"{last}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------
# Raft bootstrap of a fresh database
# --------------------------------------------------------------------------------------
# oned (Nebula::start, SystemDB::check_db_version): a database without its version tables
# "has to be bootstraped"; oned only bootstraps it itself when FEDERATION SERVER_ID is -1
# (solo), else it exits with "Database has to be bootstraped to start oned in HA". The
# OpenNebula front-end HA guide: start oned once with SERVER_ID -1, stop it, set the id.
_VERSION_TABLES = ("local_db_versioning", "db_versioning")
_FED_SERVER_ID = re.compile(r"(FEDERATION\s*=\s*\[[^\]]*?\bSERVER_ID\s*=\s*)(\"?-?\d+\"?)",
                            re.S)
_VECTOR_PAIR = re.compile(r'(\w+)\s*=\s*("(?:\\.|[^"\\])*"|[^,\s\]]*)')


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError as exc:
        raise CommandExecutionError(f"one: cannot read {path}: {exc.strerror}") from None


def _write_text(path, text):
    """Rewrite in place (same inode: owner and mode stay)."""
    try:
        with open(path, "r+", encoding="utf-8") as fh:
            fh.seek(0)
            fh.write(text)
            fh.truncate()
    except OSError as exc:
        raise CommandExecutionError(f"one: cannot write {path}: {exc.strerror}") from None


def _conf_vector(text, name):
    """The ``NAME = [ K = V, ... ]`` vector of an oned.conf text as {K: V} (unquoted)."""
    m = re.search(r"^\s*" + name + r"\s*=\s*\[(.*?)\]", text, re.S | re.M)
    if not m:
        return None
    out = {}
    for key, value in _VECTOR_PAIR.findall(m.group(1)):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out[key.upper()] = value
    return out


def _sqlite_bootstrapped(path):
    if not os.path.exists(path):
        return False
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise CommandExecutionError(f"one: cannot open {path}: {exc}") from None
    try:
        for table in _VERSION_TABLES:
            try:
                if not db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]:
                    return False
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return False
                raise CommandExecutionError(f"one: cannot read {path}: {exc}") from None
        return True
    finally:
        db.close()


def _mysql_bootstrapped(db, client):
    argv = [client, "--batch", "--skip-column-names", f"--user={db.get('USER', 'oneadmin')}",
            f"--host={db.get('SERVER', 'localhost')}"]
    if str(db.get("PORT", "0")) not in ("", "0"):
        argv.append(f"--port={db['PORT']}")
    argv += [f"--database={db.get('DB_NAME', 'opennebula')}",
             "--execute=" + " ".join(f"SELECT COUNT(*) FROM {t};" for t in _VERSION_TABLES)]
    secret = db.get("PASSWD", "oneadmin")
    ret = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True,
                                  env={"MYSQL_PWD": secret}, output_loglevel="quiet")
    if ret["retcode"] != 0:
        err = (ret.get("stderr") or "").strip()
        if "ERROR 1146" in err:  # ER_NO_SUCH_TABLE
            return False
        err = err.replace(secret, HIDDEN) if secret else err
        raise CommandExecutionError(f"one: cannot query oned's database: {err[:300]}")
    counts = (ret.get("stdout") or "").split()
    return len(counts) == len(_VERSION_TABLES) and all(c.isdigit() and int(c) > 0
                                                       for c in counts)


def db_bootstrapped(oned_conf="/etc/one/oned.conf", var_location="/var/lib/one",
                    mysql_client="mysql"):
    """True when oned's database is bootstrapped: both version tables oned's bootstrap
    creates (local_db_versioning, db_versioning) hold a row, which is what oned checks before
    it refuses to start in HA. The database comes from oned.conf's DB vector (sqlite:
    ``<var_location>/one.db``, read-only; mysql: the ``mysql`` client, the password in its
    environment, never in argv or output).

    CLI Example: ``salt-call one.db_bootstrapped``
    """
    db = _conf_vector(_read_text(oned_conf), "DB") or {"BACKEND": "sqlite"}
    backend = db.get("BACKEND", "sqlite").lower()
    if backend == "sqlite":
        return _sqlite_bootstrapped(os.path.join(var_location, "one.db"))
    if backend == "mysql":
        return _mysql_bootstrapped(db, mysql_client)
    raise CommandExecutionError(f"one: {oned_conf}: DB BACKEND {backend!r} is not sqlite/mysql")


def federation_server_id(oned_conf="/etc/one/oned.conf"):
    """FEDERATION SERVER_ID of an oned.conf (-1: no Raft).

    CLI Example: ``salt-call one.federation_server_id``
    """
    m = _FED_SERVER_ID.search(_read_text(oned_conf))
    if not m:
        raise CommandExecutionError(f"one: {oned_conf} has no FEDERATION SERVER_ID")
    return int(m.group(2).strip('"'))


def raft_bootstrap(oned_conf="/etc/one/oned.conf", service="opennebula", timeout=120,
                   **kwargs):
    """Bootstrap a fresh database for Raft, the front-end HA guide's way: oned started once
    with FEDERATION SERVER_ID -1 (solo: it creates its tables, oneadmin from one_auth and the
    default objects), waited for until it answers (``wait_ready``), stopped; oned.conf is
    then put back byte for byte (with the Raft SERVER_ID), also when a step fails. The
    service is left stopped. Does not check whether the database needs it: see
    ``db_bootstrapped`` (the ``one.raft_bootstrapped`` state does).

    CLI Example: ``salt-call one.raft_bootstrap one_auth_file=/var/lib/one/.one/one_auth``
    """
    original = _read_text(oned_conf)
    solo, count = _FED_SERVER_ID.subn(r"\g<1>-1", original, count=1)
    if count != 1:
        raise CommandExecutionError(f"one: {oned_conf} has no FEDERATION SERVER_ID")
    __salt__["service.stop"](service)
    try:
        _write_text(oned_conf, solo)
        if not __salt__["service.start"](service):
            raise CommandExecutionError(
                f"one: service {service} did not start with SERVER_ID -1 (see oned.log)")
        ready = wait_ready(timeout=timeout, **kwargs)
    finally:
        __salt__["service.stop"](service)
        _write_text(oned_conf, original)
    return {"bootstrapped": True, "version": ready["version"], "waited": ready["waited"]}


# --------------------------------------------------------------------------------------
# zone server pool (Raft)
# --------------------------------------------------------------------------------------
def zone_servers(zone_id=0, **kwargs):
    """The Raft server pool of zone ``zone_id`` (``one.zone.info``): a list of
    ``{"id", "name", "endpoint"}`` in oned's order.

    CLI Example: ``salt-call one.zone_servers 0 one_auth_file=/var/lib/one/.one/one_auth``
    """
    conn = _conn(kwargs)
    zone = _call(conn, "zone.info", int(zone_id))
    pool = getattr(zone, "SERVER_POOL", None)
    servers = getattr(pool, "SERVER", None) or [] if pool is not None else []
    if not isinstance(servers, list):
        servers = [servers]
    return [{"id": int(s.ID), "name": str(s.NAME), "endpoint": str(s.ENDPOINT)}
            for s in servers]


def zone_server_listed(zone_id, name, **kwargs):
    """True when zone ``zone_id``'s server pool has a server named ``name``.

    CLI Example: ``salt-call one.zone_server_listed 0 cloud-cc01 one_auth_file=...``
    """
    return any(s["name"] == str(name) for s in zone_servers(zone_id, **kwargs))


# --------------------------------------------------------------------------------------
# oned's MySQL/MariaDB server (opennebula.db): read-only checks and the replication start.
# Every query runs through the mysql client as an argument list; passwords travel in the
# client's environment (MYSQL_PWD), never in argv, return values, logs or exception text.
# --------------------------------------------------------------------------------------
DEFAULT_DB_SOCKET = "/run/mysqld/mysqld.sock"


def _sql_str(value):
    """A SQL string literal's body: backslash and single quote escaped."""
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


def _mysql(sql, client="mysql", socket=None, host=None, user="root", password=None,
           connect_timeout=None, stdin=None, port=None):
    argv = [str(client)]
    if host:
        argv += [f"--host={host}", "--protocol=tcp"]
        if port:
            argv.append(f"--port={int(port)}")
    else:
        argv += ["--protocol=socket", f"--socket={socket or DEFAULT_DB_SOCKET}"]
    argv.append(f"--user={user}")
    if connect_timeout:
        argv.append(f"--connect-timeout={int(connect_timeout)}")
    argv += ["--batch", "--skip-column-names"]
    if sql is not None:
        argv.append(f"--execute={sql}")
    env = {"MYSQL_PWD": str(password)} if password not in (None, "") else None
    opts = {"python_shell": False, "ignore_retcode": True, "output_loglevel": "quiet"}
    if env:
        opts["env"] = env
    if stdin is not None:
        opts["stdin"] = stdin
    ret = __salt__["cmd.run_all"](argv, **opts)
    return ret


def _db_error(ret, what, secrets=()):
    err = (ret.get("stderr") or ret.get("stdout") or "").strip()
    for secret in secrets:
        if secret:
            err = err.replace(str(secret), HIDDEN)
    return CommandExecutionError(f"one: {what} failed (rc={ret.get('retcode')}): {err[:300]}")


def db_exists(name, client="mysql", socket=None):
    """True when the server (root over the unix socket) has a database named exactly
    ``name``.

    CLI Example: ``salt-call one.db_exists opennebula``
    """
    ret = _mysql("SHOW DATABASES", client=client, socket=socket)
    if ret["retcode"] != 0:
        return False
    return str(name) in (ret.get("stdout") or "").splitlines()


def db_user_granted(user, password, database, client="mysql", socket=None):
    """True when ``user`` logs in over the unix socket with ``password`` and holds
    ``ALL PRIVILEGES ON `database`.*`` (a wrong password or a lost grant: False).

    CLI Example: ``salt-call one.db_user_granted oneadmin PASSWORD opennebula``
    """
    ret = _mysql("SHOW GRANTS", client=client, socket=socket, user=user, password=password)
    if ret["retcode"] != 0:
        return False
    needle = f"ALL PRIVILEGES ON `{database}`.*"
    return any(needle in line for line in (ret.get("stdout") or "").splitlines())


def db_user_exists(user, host, client="mysql", socket=None):
    """True when the account ``'user'@'host'`` exists (mysql.user, root over the socket).

    CLI Example: ``salt-call one.db_user_exists replicator 192.168.100.12``
    """
    sql = (f"SELECT 1 FROM mysql.user WHERE User='{_sql_str(user)}' "
           f"AND Host='{_sql_str(host)}'")
    ret = _mysql(sql, client=client, socket=socket)
    if ret["retcode"] != 0:
        return False
    return "1" in (ret.get("stdout") or "").split()


def db_replica_configured(client="mysql", socket=None):
    """True when this server replicates from a master already (SHOW SLAVE STATUS has a row).

    CLI Example: ``salt-call one.db_replica_configured``
    """
    ret = _mysql("SHOW SLAVE STATUS", client=client, socket=socket)
    return ret["retcode"] == 0 and bool((ret.get("stdout") or "").strip())


def _master_status(peer, user, password, client, connect_timeout=5, port=None):
    """(file, position) of the peer's SHOW MASTER STATUS with the replication account,
    None when it does not answer or has no binlog."""
    ret = _mysql("SHOW MASTER STATUS", client=client, host=peer, user=user, password=password,
                 connect_timeout=connect_timeout, port=port)
    if ret["retcode"] != 0:
        return None
    for line in (ret.get("stdout") or "").splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0] and fields[1].isdigit():
            return fields[0], int(fields[1])
    return None


def _now():
    return time.monotonic()


def _sleep(seconds):
    time.sleep(seconds)


def db_replication_pending(peer, user, password, wait=120, interval=2, client="mysql",
                           socket=None, port=None):
    """True when this server replicates from nobody yet AND the peer answers
    SHOW MASTER STATUS with the replication credentials; the peer is waited for up to
    ``wait`` seconds (both front-ends' first highstates run side by side), asked every
    ``interval`` seconds with a 5 s connect timeout. False at once when replication is
    configured already, False when the peer did not answer in time.

    CLI Example: ``salt-call one.db_replication_pending 192.168.100.12 replicator PASSWORD``
    """
    if db_replica_configured(client=client, socket=socket):
        return False
    end = _now() + float(wait)
    while True:
        if _master_status(peer, user, password, client, port=port) is not None:
            return True
        if _now() >= end:
            return False
        _sleep(float(interval))


def db_replication_start(peer, user, password, client="mysql", socket=None, port=None):
    """Replicate from ``peer`` at its CURRENT binlog position: reads the peer's
    SHOW MASTER STATUS with the replication account, then CHANGE MASTER TO it + START SLAVE
    here (root over the socket; the statement on the client's stdin, the password never in
    argv). Does not check whether replication is configured already (the SLS guards it with
    ``db_replica_configured``). Returns ``{"master_host", "master_log_file",
    "master_log_pos"}``.

    CLI Example: ``salt-call one.db_replication_start 192.168.100.12 replicator PASSWORD``
    """
    status = _master_status(peer, user, password, client, port=port)
    if status is None:
        raise CommandExecutionError(
            f"one: the peer {peer} does not answer SHOW MASTER STATUS as {user}")
    log_file, log_pos = status
    sql = (f"CHANGE MASTER TO MASTER_HOST='{_sql_str(peer)}', MASTER_USER='{_sql_str(user)}', "
           + (f"MASTER_PORT={int(port)}, " if port else "")
           + f"MASTER_PASSWORD='{_sql_str(password)}', MASTER_LOG_FILE='{_sql_str(log_file)}', "
           f"MASTER_LOG_POS={int(log_pos)}; START SLAVE;\n")
    ret = _mysql(None, client=client, socket=socket, stdin=sql)
    if ret["retcode"] != 0:
        raise _db_error(ret, "CHANGE MASTER TO / START SLAVE", secrets=(password,))
    return {"master_host": str(peer), "master_log_file": log_file, "master_log_pos": log_pos}
