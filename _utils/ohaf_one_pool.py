"""oned pools for the ``one`` module (``__utils__["ohaf_one_pool.*"]``): pyone's answers as
plain records, kept in the run cache.

pyone answers with its XSD-generated binding objects; the module keeps and returns plain,
JSON-able records built here, one builder per kind of object:

    datastore    {"id", "name", "type", "ds_mad", "tm_mad", "base_path", "state",
                  "clusters", "images", "total_mb", "free_mb", "used_mb", "template"}
    host         {"id", "name", "state", "im_mad", "vm_mad", "cluster_id", "cluster", "vms",
                  "template"}
    cluster      {"id", "name", "hosts", "datastores", "vnets", "template"}
    marketplace  {"id", "name", "market_mad", "state", "apps", "template"}

The run cache (``ohaf_cache``, namespace ``one``, one entry per connection and kind): a
whole pool is read in one call (``one.<kind>pool.info``) and kept for the run with
``cache=True``, so N states cost one pool call per kind. A write marks the object it
changed stale (``touch``): the next read re-fetches that object alone by id
(``one.<kind>.info``); ``forget`` drops a deleted one, ``invalidate`` a whole pool.

.. code-block:: python

    rec = __utils__["ohaf_one_pool.info"](context, conn, "host", "node1", cache=True)
    __utils__["ohaf_one_pool.touch"](context, conn, "host", rec["id"])   # after a write
"""
import os
import sys

from salt.exceptions import CommandExecutionError

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_cache  # noqa: E402  pylint: disable=wrong-import-position
import ohaf_one_client  # noqa: E402  pylint: disable=wrong-import-position

HAS_PYONE = ohaf_one_client.HAS_PYONE  # pyone is imported once, by the client
pyone = ohaf_one_client.pyone if HAS_PYONE else None

# Datastore::DatastoreType (oned 6.10 / 7.4 include/Datastore.h). pyone's DATASTORE_TYPES
# has only IMAGE/SYSTEM/FILE: oned stores TYPE 3 for a BACKUP_DS (rsync, restic).
_DATASTORE_TYPES = {0: "IMAGE_DS", 1: "SYSTEM_DS", 2: "FILE_DS", 3: "BACKUP_DS"}


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return "" if value is None else str(value)


def _ids(obj):
    return sorted(int(i) for i in (getattr(obj, "ID", None) or [])) if obj is not None else []


def _ds_type_name(value):
    try:
        return _DATASTORE_TYPES.get(int(value), str(value))
    except (ValueError, TypeError):
        return str(value)


def _host_state_name(value):
    try:
        return pyone.HOST_STATES(int(value)).name
    except (ValueError, TypeError, NameError):
        return str(value)


def _datastore(ds):
    return {
        "id": int(ds.ID), "name": ds.NAME, "type": _ds_type_name(ds.TYPE),
        "ds_mad": ds.DS_MAD, "tm_mad": ds.TM_MAD, "base_path": ds.BASE_PATH,
        "state": "DISABLED" if ds.STATE == 1 else "READY",
        "clusters": _ids(ds.CLUSTERS), "images": _ids(ds.IMAGES),
        "total_mb": ds.TOTAL_MB, "free_mb": ds.FREE_MB, "used_mb": ds.USED_MB,
        "template": _plain(ds.TEMPLATE or {}),
    }


def _host(host):
    return {
        "id": int(host.ID), "name": host.NAME, "state": _host_state_name(host.STATE),
        "im_mad": host.IM_MAD, "vm_mad": host.VM_MAD,
        "cluster_id": int(host.CLUSTER_ID), "cluster": host.CLUSTER,
        "vms": _ids(host.VMS), "template": _plain(host.TEMPLATE or {}),
    }


def _cluster(cluster):
    return {
        "id": int(cluster.ID), "name": cluster.NAME,
        "hosts": _ids(cluster.HOSTS), "datastores": _ids(cluster.DATASTORES),
        "vnets": _ids(cluster.VNETS), "template": _plain(cluster.TEMPLATE or {}),
    }


def _marketplace(market):
    return {
        "id": int(market.ID), "name": market.NAME, "market_mad": market.MARKET_MAD,
        "state": "DISABLED" if str(market.STATE) == "1" else "ENABLED",
        "apps": _ids(market.MARKETPLACEAPPS), "template": _plain(market.TEMPLATE or {}),
    }


# kind -> (pool method, pool element, info method, record builder)
_KINDS = {
    "datastore": ("datastorepool.info", "DATASTORE", "datastore.info", _datastore),
    "host": ("hostpool.info", "HOST", "host.info", _host),
    "cluster": ("clusterpool.info", "CLUSTER", "cluster.info", _cluster),
    "marketplace": ("marketpool.info", "MARKETPLACE", "market.info", _marketplace),
}
_NS = "one"  # the run cache namespace (ohaf_cache), shared with the one module


def kinds():
    """The kinds of pooled objects: datastore, host, cluster, marketplace."""
    return tuple(_KINDS)


def _match(by_id, ref):
    """The id in ``by_id`` that ``ref`` names: an int is an id, a string a NAME; None when
    nothing matches (a bool is never an id)."""
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return ref if ref in by_id else None
    for oid, rec in by_id.items():
        if rec.get("name") == ref:
            return oid
    return None


def _key(conn, kind):
    return ("pool", conn.endpoint, conn.user, kind)


def _entry(context, conn, kind, cache):
    """The pool entry ``{"by_id": {id: record}, "stale": set()}``: the cached one, or read
    now (``cache=False`` always reads, and keeps what it read for the run)."""
    pool_method, element, _, build = _KINDS[kind]

    def load():
        pool = ohaf_one_client.call(conn, pool_method)
        by_id = {}
        for obj in getattr(pool, element, None) or []:
            rec = build(obj)
            by_id[rec["id"]] = rec
        return {"by_id": by_id, "stale": set()}

    return ohaf_cache.get(context, _NS, _key(conn, kind), load, refresh=not cache)


def _refresh(conn, kind, entry, oid):
    """Re-read one stale object by id (gone: dropped)."""
    _, _, info_method, build = _KINDS[kind]
    try:
        entry["by_id"][oid] = build(ohaf_one_client.call(conn, info_method, oid))
    except CommandExecutionError as exc:
        if not ohaf_one_client.not_found(exc):
            raise
        entry["by_id"].pop(oid, None)
    entry["stale"].discard(oid)


def listing(context, conn, kind, cache=True):
    """Every record of ``kind``, by id (stale ones re-read first)."""
    entry = _entry(context, conn, kind, cache)
    for oid in sorted(entry["stale"]):
        _refresh(conn, kind, entry, oid)
    return [dict(entry["by_id"][oid]) for oid in sorted(entry["by_id"])]


def info(context, conn, kind, ref, cache=True):
    """The record of the ``kind`` object ``ref`` (id or NAME), None when absent."""
    entry = _entry(context, conn, kind, cache)
    oid = _match(entry["by_id"], ref)
    if oid is None:
        return None
    if oid in entry["stale"]:
        _refresh(conn, kind, entry, oid)
    rec = entry["by_id"].get(oid)
    return dict(rec) if rec else None


def lookup(context, conn, kind, ref, cache=True):
    """The id of the ``kind`` object ``ref`` (id or NAME), None when absent; stale objects
    are not re-read (ids and names do not change)."""
    if ref is None:
        return None
    return _match(_entry(context, conn, kind, cache)["by_id"], ref)


def cached(context, conn, kind, oid):
    """The cached record of id ``oid`` as it is (None: not cached); never reads."""
    entry = ohaf_cache.peek(context, _NS, _key(conn, kind))
    return (entry or {}).get("by_id", {}).get(oid)


def touch(context, conn, kind, oid, name=None):
    """After a write: the object is stale; the next read re-fetches it by id."""
    entry = ohaf_cache.peek(context, _NS, _key(conn, kind))
    if entry is not None:
        entry["by_id"].setdefault(oid, {"id": oid, "name": name})
        entry["stale"].add(oid)


def forget(context, conn, kind, oid):
    """After a delete: the object leaves the cached pool."""
    entry = ohaf_cache.peek(context, _NS, _key(conn, kind))
    if entry is not None:
        entry["by_id"].pop(oid, None)
        entry["stale"].discard(oid)


def invalidate(context, conn, kind=None):
    """Forget the cached pool of ``kind`` (None: of every kind) for ``conn``."""
    for name in [kind] if kind else _KINDS:
        ohaf_cache.invalidate(context, _NS, _key(conn, name))
