"""OpenNebula objects as Salt states (datastores, hosts, clusters, marketplaces), through
``one.*``.

Every state takes the oned connection as explicit keyword arguments, passed through to the
``one`` execution module: ``endpoint``, ``one_auth_file`` (or ``username`` + ``password``),
``timeout``, ``verify_ssl``. Reads come from one pool call per kind per run (``__context__``).

.. code-block:: yaml

    linstor_system:
      one.datastore_present:
        - template:
            TYPE: SYSTEM_DS
            TM_MAD: linstor
            LINSTOR_AUTO_PLACE: 2
            LINSTOR_STORAGE_POOL: open_system
            BRIDGE_LIST: [alpha, bravo, charlie, delta]
        - cluster: default
        - endpoint: http://127.0.0.1:2633/RPC2
        - one_auth_file: /var/lib/one/.one/one_auth

Shape (CONTRIBUTING.md): read -> diff -> (test: result None, nothing written) -> apply ->
re-read -> verify. ``changes`` is ``{}`` when nothing changed; creation is
``{"old": None, "new": {...}}``, removal ``{"old": {...}, "new": None}``, an update is keyed
by attribute ``{"BRIDGE_LIST": {"old": ..., "new": ...}}``. Values of attributes that look
secret (``*PASSWORD*``, ``*SECRET*``, ``*TOKEN*``, ``*AUTH*``, ``*_KEY``) read ``<hidden>``.
"""
import re

from salt.exceptions import CommandExecutionError

HIDDEN = "<hidden>"
_SECRET_ATTR = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|AUTH|(^|_)KEY$)")
# attributes fixed at allocate; changing them on a datastore holding data needs an explicit flag
_DRIVER_ATTRS = ("TYPE", "DS_MAD", "TM_MAD")


def __virtual__():
    if "one.datastore_info" in __salt__:
        return "one"
    return (False, "one: the one execution module is not available (pyone missing?)")


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _ret(name):
    return {"name": name, "result": False, "changes": {}, "comment": ""}


def _conn(kwargs):
    return {k: v for k, v in kwargs.items() if not k.startswith("__")}


def _inactive(ret, kwargs):
    """``active_vip`` (every state): act only where that address is configured, i.e. on the
    active front-end under pacemaker/rgmanager (opennebula/register/active.jinja). Elsewhere
    the state succeeds with no changes. Checked through ``one.vip_local`` with the run cache:
    N guarded states cost one ``ip -o addr show``, and no per-state ``onlyif`` (Salt looks up
    ``one.mod_run_check`` for every state carrying one, a loader directory rescan each)."""
    vip = kwargs.pop("active_vip", None)
    if not vip:
        return False
    try:
        if __salt__["one.vip_local"](vip, cache=True):
            return False
    except CommandExecutionError as exc:
        _fail(ret, str(exc))
        return True
    ret["result"] = True
    ret["comment"] = (f"not the active front-end ({vip} is not configured here): "
                      "nothing to do")
    return True


def _secret(attr):
    return bool(_SECRET_ATTR.search(str(attr).upper()))


def _mask_template(tmpl):
    out = {}
    for key, value in (tmpl or {}).items():
        if _secret(key):
            out[key] = HIDDEN
        elif isinstance(value, dict):
            out[key] = {k: HIDDEN if _secret(k) else v for k, v in value.items()}
        else:
            out[key] = value
    return out


def _mask_diff(diff):
    out = {}
    for key, change in diff.items():
        if _secret(key):
            out[key] = {"old": HIDDEN if change.get("old") is not None else None,
                        "new": HIDDEN}
        elif isinstance(change.get("new"), dict):
            out[key] = {"old": _mask_template(change["old"]) if isinstance(change["old"], dict)
                        else change["old"],
                        "new": _mask_template(change["new"])}
        else:
            out[key] = change
    return out


def _one(fun, *args, **kwargs):
    return __salt__[f"one.{fun}"](*args, **kwargs)


def _fail(ret, comment):
    ret["result"] = False
    ret["comment"] = comment
    return ret


def _ds_current(rec):
    """The datastore template as oned applies it: TYPE/TM_MAD/DS_MAD from the object (a
    BACKUP_DS has no transfer driver: oned stores TM_MAD "-")."""
    cur = dict(rec["template"])
    cur["TYPE"] = rec["type"]
    cur["TM_MAD"] = rec["tm_mad"]
    if rec["type"] != "SYSTEM_DS":
        cur["DS_MAD"] = rec["ds_mad"]
    return cur


def _resolve_cluster(cluster, conn):
    """(cluster id or None, error or None). None cluster -> (None, None)."""
    if cluster is None:
        return None, None
    cid = _one("lookup_id", "cluster", cluster, cache=True, **conn)
    if cid is None:
        return None, f"cluster {cluster!r} does not exist"
    return cid, None


# --------------------------------------------------------------------------------------
# datastores
# --------------------------------------------------------------------------------------
def datastore_present(name, template, cluster=None, allow_driver_change=False, **kwargs):
    """A datastore called ``name`` exists with (at least) the attributes in ``template``.

    name
        datastore NAME (unique in oned)
    template
        dict of template attributes (``TYPE``, ``DS_MAD``, ``TM_MAD``, ``DISK_TYPE``,
        ``BRIDGE_LIST``, ``LINSTOR_*``...). Names are upper-cased, values compared as oned
        stores them (strings; ``True``/``False`` -> ``YES``/``NO``; a list -> space-separated
        string; TYPE/DISK_TYPE upper-case). Attributes not listed are left alone; differing
        ones are sent with ``one.datastore.update`` type 1 (merge), only those.
        A SYSTEM_DS must not have DS_MAD (oned rule); a BACKUP_DS (``DS_MAD: rsync`` or
        ``restic``; oned stores TYPE 3) has no TM_MAD (oned stores ``-``).
    cluster
        cluster name or id the datastore must belong to (added with
        ``one.cluster.adddatastore``; other memberships are kept). None: on creation oned's
        default cluster, afterwards membership is not managed.
    allow_driver_change
        TYPE, DS_MAD and TM_MAD of an existing datastore are only changed when True
        (re-pointing the drivers of a datastore that holds images can orphan them).
    """
    ret = _ret(name)
    if _inactive(ret, kwargs):
        return ret
    conn = _conn(kwargs)
    try:
        desired = _one("normalize_template", template)
        if not desired:
            return _fail(ret, "template is empty: give at least TYPE and TM_MAD")
        if "NAME" in desired:
            return _fail(ret, "template must not contain NAME: the state name is the NAME")
        if desired.get("TYPE") == "SYSTEM_DS" and "DS_MAD" in desired:
            return _fail(ret, "a SYSTEM_DS datastore cannot have DS_MAD (oned rejects it)")
        if desired.get("TYPE") == "BACKUP_DS" and desired.get("TM_MAD", "-") != "-":
            return _fail(ret, "a BACKUP_DS datastore has no TM_MAD (oned stores '-'): "
                              "leave TM_MAD out or set it to '-'")
        cid, err = _resolve_cluster(cluster, conn)
        if err:
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = f"{err} (yet); datastore {name} cannot be checked against it"
                return ret
            return _fail(ret, err)
        current = _one("datastore_info", name, cache=True, **conn)

        if current is None:
            ret["changes"] = {"old": None, "new": {
                "name": name, "template": _mask_template(desired),
                "cluster": cluster if cluster is not None else "default"}}
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = f"datastore {name} would be created"
                return ret
            oid = _one("datastore_allocate", name, desired,
                       cluster_id=-1 if cid is None else cid, cache=True, **conn)
            after = _one("datastore_info", name, cache=True, **conn)
            if after is None:
                return _fail(ret, f"verification failed: datastore {name} (id {oid}) "
                                  "not found after allocate")
            left = _one("template_diff", desired, _ds_current(after))
            if left or (cid is not None and cid not in after["clusters"]):
                return _fail(ret, f"verification failed: datastore {name} (id {oid}) differs "
                                  f"after allocate: {sorted(left) or 'cluster membership'}")
            ret["result"] = True
            ret["comment"] = f"datastore {name} created (id {oid})"
            return ret

        diff = _one("template_diff", desired, _ds_current(current))
        drivers = sorted(k for k in diff if k in _DRIVER_ATTRS)
        if drivers and not allow_driver_change:
            have = ", ".join(f"{k}={diff[k]['old']!r}" for k in drivers)
            want = ", ".join(f"{k}={diff[k]['new']!r}" for k in drivers)
            ret["comment"] = (
                f"datastore {name} (id {current['id']}) has {have}, wanted {want}; "
                "refusing to change TYPE/DS_MAD/TM_MAD of an existing datastore unless "
                "allow_driver_change is True")
            return ret
        changes = _mask_diff(diff)
        add_to_cluster = cid is not None and cid not in current["clusters"]
        if add_to_cluster:
            changes["clusters"] = {"old": current["clusters"],
                                   "new": sorted(current["clusters"] + [cid])}
        if not changes:
            ret["result"] = True
            ret["comment"] = f"datastore {name} (id {current['id']}) is in the desired state"
            return ret
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = changes
            ret["comment"] = (f"datastore {name} (id {current['id']}) would be updated: "
                              f"{', '.join(sorted(changes))}")
            return ret
        if diff:
            _one("datastore_update", current["id"], {k: desired[k] for k in diff},
                 merge=True, cache=True, **conn)
        if add_to_cluster:
            _one("cluster_adddatastore", cid, current["id"], cache=True, **conn)
        after = _one("datastore_info", current["id"], cache=True, **conn)
        left = _one("template_diff", desired, _ds_current(after)) if after else {"": None}
        if left or (add_to_cluster and cid not in after["clusters"]):
            ret["changes"] = changes
            return _fail(ret, f"verification failed: datastore {name} still differs in "
                              f"{sorted(left) or 'cluster membership'}")
        ret["result"] = True
        ret["changes"] = changes
        ret["comment"] = f"datastore {name} (id {current['id']}) updated"
        return ret
    except CommandExecutionError as exc:
        ret["changes"] = {}
        return _fail(ret, str(exc))


def _absent(kind, name, kwargs, busy, old):
    """The one shape of every ``*_absent``: read (pool cache) -> already absent, or refuse
    while ``busy(current)`` names what still uses it -> diff ``old(current)`` -> test=True
    -> delete -> re-read -> verify."""
    ret = _ret(name)
    if _inactive(ret, kwargs):
        return ret
    conn = _conn(kwargs)
    try:
        current = _one(f"{kind}_info", name, cache=True, **conn)
        if current is None:
            ret["result"] = True
            ret["comment"] = f"{kind} {name} is already absent"
            return ret
        why = busy(current)
        if why:
            return _fail(ret, f"{kind} {name} (id {current['id']}) {why}")
        ret["changes"] = {"old": {"id": current["id"], "name": name, **old(current)}, "new": None}
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = f"{kind} {name} (id {current['id']}) would be deleted"
            return ret
        _one(f"{kind}_delete", current["id"], cache=True, **conn)
        if _one(f"{kind}_info", name, cache=True, **conn) is not None:
            return _fail(ret, f"verification failed: {kind} {name} still exists")
        ret["result"] = True
        ret["comment"] = f"{kind} {name} (id {current['id']}) deleted"
        return ret
    except CommandExecutionError as exc:
        ret["changes"] = {}
        return _fail(ret, str(exc))


def datastore_absent(name, **kwargs):
    """No datastore called ``name``. Refuses (result False) while it still holds images."""
    return _absent(
        "datastore", name, kwargs,
        busy=lambda c: c["images"] and f"still holds images {c['images']}; not deleting it",
        old=lambda c: {"type": c["type"], "template": _mask_template(c["template"])})


# --------------------------------------------------------------------------------------
# hosts
# --------------------------------------------------------------------------------------
def host_present(name, im_mad, vm_mad, cluster=None, template=None, **kwargs):
    """A host called ``name`` (``onehost create name -i im_mad -v vm_mad``) in ``cluster``.

    cluster
        cluster name or id; an existing host in another cluster is moved
        (``one.cluster.addhost``). None: on creation oned's default cluster, afterwards not
        managed.
    template
        optional dict of host template attributes, merged (update type 1), only differing ones.
    im_mad / vm_mad of an existing host cannot be changed in place: result False (remove the
    host with ``one.host_absent`` and re-create it).
    """
    ret = _ret(name)
    if _inactive(ret, kwargs):
        return ret
    conn = _conn(kwargs)
    try:
        desired = _one("normalize_template", template) if template else {}
        cid, err = _resolve_cluster(cluster, conn)
        if err:
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = f"{err} (yet); host {name} cannot be checked against it"
                return ret
            return _fail(ret, err)
        current = _one("host_info", name, cache=True, **conn)

        if current is None:
            new = {"name": name, "im_mad": im_mad, "vm_mad": vm_mad,
                   "cluster": cluster if cluster is not None else "default"}
            if desired:
                new["template"] = _mask_template(desired)
            ret["changes"] = {"old": None, "new": new}
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = f"host {name} would be created"
                return ret
            oid = _one("host_allocate", name, im_mad, vm_mad,
                       cluster_id=-1 if cid is None else cid, cache=True, **conn)
            if desired:
                _one("host_update", oid, desired, merge=True, cache=True, **conn)
            after = _one("host_info", oid, cache=True, **conn)
            problems = _host_problems(after, im_mad, vm_mad, cid, desired)
            if problems:
                return _fail(ret, f"verification failed: host {name} (id {oid}): {problems}")
            ret["result"] = True
            ret["comment"] = f"host {name} created (id {oid})"
            return ret

        if (current["im_mad"], current["vm_mad"]) != (im_mad, vm_mad):
            return _fail(ret, f"host {name} (id {current['id']}) has im_mad={current['im_mad']}"
                              f", vm_mad={current['vm_mad']}, wanted im_mad={im_mad}, "
                              f"vm_mad={vm_mad}; drivers cannot be changed in place: remove "
                              "the host (one.host_absent) and re-create it")
        diff = _one("template_diff", desired, current["template"]) if desired else {}
        changes = _mask_diff(diff)
        move = cid is not None and current["cluster_id"] != cid
        if move:
            changes["cluster"] = {"old": current["cluster"], "new": cluster}
        if not changes:
            ret["result"] = True
            ret["comment"] = f"host {name} (id {current['id']}) is in the desired state"
            return ret
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = changes
            ret["comment"] = (f"host {name} (id {current['id']}) would be updated: "
                              f"{', '.join(sorted(changes))}")
            return ret
        if move:
            _one("cluster_addhost", cid, current["id"], cache=True, **conn)
        if diff:
            _one("host_update", current["id"], {k: desired[k] for k in diff}, merge=True,
                 cache=True, **conn)
        after = _one("host_info", current["id"], cache=True, **conn)
        problems = _host_problems(after, im_mad, vm_mad, cid, desired)
        ret["changes"] = changes
        if problems:
            return _fail(ret, f"verification failed: host {name}: {problems}")
        ret["result"] = True
        ret["comment"] = f"host {name} (id {current['id']}) updated"
        return ret
    except CommandExecutionError as exc:
        ret["changes"] = {}
        return _fail(ret, str(exc))


def _host_problems(after, im_mad, vm_mad, cid, desired):
    if after is None:
        return "not found"
    problems = []
    if (after["im_mad"], after["vm_mad"]) != (im_mad, vm_mad):
        problems.append("drivers differ")
    if cid is not None and after["cluster_id"] != cid:
        problems.append(f"in cluster {after['cluster']}")
    if desired:
        left = __salt__["one.template_diff"](desired, after["template"])
        if left:
            problems.append(f"template differs in {sorted(left)}")
    return "; ".join(problems)


def host_absent(name, **kwargs):
    """No host called ``name`` (oned refuses to delete a host that runs VMs)."""
    return _absent(
        "host", name, kwargs,
        busy=lambda c: c["vms"] and f"still has VMs {c['vms']}; not deleting it",
        old=lambda c: {"im_mad": c["im_mad"], "vm_mad": c["vm_mad"], "cluster": c["cluster"]})


# --------------------------------------------------------------------------------------
# clusters
# --------------------------------------------------------------------------------------
def cluster_present(name, hosts=None, datastores=None, template=None, **kwargs):
    """A cluster called ``name`` containing (at least) ``hosts`` and ``datastores``.

    hosts / datastores
        lists of names (or ids) that must be members; they must already exist (declare them
        first, or ``require`` their states). Members not listed are left alone. Adding a host
        moves it out of its current cluster (oned: one cluster per host).
    template
        optional dict of cluster template attributes (RESERVED_CPU...), merged (type 1).
    """
    ret = _ret(name)
    if _inactive(ret, kwargs):
        return ret
    conn = _conn(kwargs)
    hosts = list(hosts or [])
    datastores = list(datastores or [])
    try:
        desired = _one("normalize_template", template) if template else {}
        host_ids, missing = {}, []
        for ref in hosts:
            hid = _one("lookup_id", "host", ref, cache=True, **conn)
            if hid is None:
                missing.append(f"host {ref}")
            host_ids[ref] = hid
        ds_ids = {}
        for ref in datastores:
            dsid = _one("lookup_id", "datastore", ref, cache=True, **conn)
            if dsid is None:
                missing.append(f"datastore {ref}")
            ds_ids[ref] = dsid
        if missing:
            msg = f"cluster {name}: {', '.join(missing)} does not exist"
            if __opts__["test"]:
                ret["result"] = None
                ret["comment"] = msg + " (yet)"
                return ret
            return _fail(ret, msg)
        current = _one("cluster_info", name, cache=True, **conn)
        cur_hosts = set(current["hosts"]) if current else set()
        cur_ds = set(current["datastores"]) if current else set()
        add_hosts = [ref for ref in hosts if host_ids[ref] not in cur_hosts]
        add_ds = [ref for ref in datastores if ds_ids[ref] not in cur_ds]
        diff = _one("template_diff", desired, current["template"]) if (current and desired) \
            else {}

        if current is None:
            new = {"name": name, "hosts": hosts, "datastores": datastores}
            if desired:
                new["template"] = _mask_template(desired)
            ret["changes"] = {"old": None, "new": new}
        else:
            changes = _mask_diff(diff)
            if add_hosts:
                changes["hosts"] = {"added": add_hosts}
            if add_ds:
                changes["datastores"] = {"added": add_ds}
            if not changes:
                ret["result"] = True
                ret["comment"] = f"cluster {name} (id {current['id']}) is in the desired state"
                return ret
            ret["changes"] = changes
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = (f"cluster {name} would be created" if current is None
                              else f"cluster {name} would be updated: "
                                   f"{', '.join(sorted(ret['changes']))}")
            return ret

        cid = current["id"] if current else _one("cluster_allocate", name, cache=True, **conn)
        for ref in add_hosts:
            _one("cluster_addhost", cid, host_ids[ref], cache=True, **conn)
        for ref in add_ds:
            _one("cluster_adddatastore", cid, ds_ids[ref], cache=True, **conn)
        if current is None and desired:
            _one("cluster_update", cid, desired, merge=True, cache=True, **conn)
        elif diff:
            _one("cluster_update", cid, {k: desired[k] for k in diff}, merge=True,
                 cache=True, **conn)
        after = _one("cluster_info", cid, cache=True, **conn)
        if after is None:
            return _fail(ret, f"verification failed: cluster {name} not found")
        problems = [f"host {r}" for r in hosts if host_ids[r] not in after["hosts"]]
        problems += [f"datastore {r}" for r in datastores if ds_ids[r] not in after["datastores"]]
        if desired and _one("template_diff", desired, after["template"]):
            problems.append("template")
        if problems:
            return _fail(ret, f"verification failed: cluster {name} lacks {', '.join(problems)}")
        ret["result"] = True
        ret["comment"] = (f"cluster {name} created (id {cid})" if current is None
                          else f"cluster {name} (id {cid}) updated")
        return ret
    except CommandExecutionError as exc:
        ret["changes"] = {}
        return _fail(ret, str(exc))


def cluster_absent(name, **kwargs):
    """No cluster called ``name``. oned refuses while it has hosts, datastores or vnets."""
    def busy(current):
        members = {k: current[k] for k in ("hosts", "datastores", "vnets") if current[k]}
        return members and "is not empty: " + ", ".join(f"{k} {v}" for k, v in members.items())

    return _absent("cluster", name, kwargs, busy=busy, old=lambda c: {})


# --------------------------------------------------------------------------------------
# marketplaces
# --------------------------------------------------------------------------------------
def _marketplace_state(name, enabled, kwargs):
    ret = _ret(name)
    if _inactive(ret, kwargs):
        return ret
    conn = _conn(kwargs)
    want = "ENABLED" if enabled else "DISABLED"
    try:
        current = _one("marketplace_info", name, cache=True, **conn)
        if current is None:
            if enabled:
                return _fail(ret, f"marketplace {name} does not exist")
            ret["result"] = True
            ret["comment"] = f"marketplace {name} does not exist: nothing to disable"
            return ret
        if current["state"] == want:
            ret["result"] = True
            ret["comment"] = f"marketplace {name} (id {current['id']}) is already {want}"
            return ret
        ret["changes"] = {"state": {"old": current["state"], "new": want}}
        if __opts__["test"]:
            ret["result"] = None
            ret["comment"] = f"marketplace {name} (id {current['id']}) would be {want}"
            return ret
        _one("marketplace_enable", current["id"], enable=enabled, cache=True, **conn)
        after = _one("marketplace_info", current["id"], cache=True, **conn)
        if after is None or after["state"] != want:
            got = after["state"] if after else "absent"
            return _fail(ret, f"verification failed: marketplace {name} is {got}, not {want}")
        ret["result"] = True
        ret["comment"] = f"marketplace {name} (id {current['id']}) {want}"
        return ret
    except CommandExecutionError as exc:
        ret["changes"] = {}
        return _fail(ret, str(exc))


def marketplace_enabled(name, **kwargs):
    """The marketplace called ``name`` is enabled (``onemarket enable``): oned monitors it
    and users can import its apps. A missing marketplace is an error.

    .. code-block:: yaml

        OpenNebula Public:
          one.marketplace_enabled:
            - endpoint: http://127.0.0.1:2633/RPC2
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    return _marketplace_state(name, True, kwargs)


def marketplace_disabled(name, **kwargs):
    """The marketplace called ``name`` is disabled (``onemarket disable``): oned no longer
    contacts its endpoint, e.g. on a cloud without internet access, where the bootstrap's
    "OpenNebula Public" only fails its monitoring. A missing marketplace is already
    disabled (result True, no changes). Apps already imported stay.

    .. code-block:: yaml

        OpenNebula Public:
          one.marketplace_disabled:
            - endpoint: http://127.0.0.1:2633/RPC2
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    return _marketplace_state(name, False, kwargs)


# --------------------------------------------------------------------------------------
# transient VMs after a failover
# --------------------------------------------------------------------------------------
def transient_recovered(name, policy="report", include_failed=False, **kwargs):
    """After a front-end failover, VMs stuck in transient states are dealt with per
    ``policy`` (``one.recover_transient``): ``report`` only lists them (result True, no
    changes), ``success`` / ``failure`` / ``retry`` recover them (``onevm recover``).

    name
        a label (the state id); not sent to oned
    include_failed
        also recover VMs in ``*_FAILURE`` states (always listed in the comment)

    No transient VM: result True, ``changes == {}``. Test mode: result None and the VMs that
    would be recovered. A VM oned refuses to recover: result False, its error in the comment.
    """
    ret = _ret(name)
    if _inactive(ret, kwargs):
        return ret
    conn = _conn(kwargs)
    if policy not in ("report", "success", "failure", "retry"):
        return _fail(ret, f"policy {policy!r} not allowed; allowed: report, success, failure, "
                          "retry")
    try:
        found = _one("recover_transient", policy="report", **conn)
        targets = found["transient"] + (found["failed"] if include_failed else [])
        listed = ", ".join(f"{v['id']} ({v['name']}: {v['lcm_state']})"
                           for v in found["transient"] + found["failed"]) or "none"
        if policy == "report" or not targets:
            ret["result"] = True
            ret["comment"] = (f"no VM to recover (transient/failed: {listed})" if not targets
                              else f"policy report: VMs in transient/failed states: {listed}")
            return ret
        ids = sorted(v["id"] for v in targets)
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = {"recovered": {"old": None, "new": ids, "policy": policy}}
            ret["comment"] = f"VMs {ids} would be recovered as {policy}"
            return ret
        done = _one("recover_transient", policy=policy, include_failed=include_failed,
                    vm_ids=ids, **conn)
        if done["recovered"]:
            ret["changes"] = {"recovered": {"old": None, "new": done["recovered"],
                                            "policy": policy}}
        if done["errors"]:
            errs = "; ".join(f"VM {e['id']}: {e['error']}" for e in done["errors"])
            return _fail(ret, f"recover {policy} failed for {errs}")
        ret["result"] = True
        ret["comment"] = f"VMs {done['recovered']} recovered as {policy}"
        return ret
    except CommandExecutionError as exc:
        ret["changes"] = {}
        return _fail(ret, str(exc))


# --------------------------------------------------------------------------------------
# oned serving API requests; Raft bootstrap of a fresh database
# --------------------------------------------------------------------------------------
def oned_ready(name, timeout=60, interval=1, vip=None, **kwargs):
    """oned answers API requests (``one.wait_ready``): waited for up to ``timeout`` seconds.
    An open port is not enough: under Raft oned answers "no leader found" for seconds after
    it listens.

    name
        a label (the state id)
    vip
        pacemaker/rgmanager: ready when the VIP is here and oned answers here, or the VIP
        answers from another front-end.

    Waiting changes nothing: ``changes`` is always ``{}``. Test mode: one check, no wait
    (result None when oned does not answer yet: a real run would wait for it).
    """
    ret = _ret(name)
    conn = _conn(kwargs)
    try:
        if __opts__["test"]:
            try:
                got = _one("wait_ready", timeout=0, interval=0.05, active_vip=vip, **conn)
            except CommandExecutionError as exc:
                ret["result"] = None
                ret["comment"] = f"oned would be waited for (up to {timeout}s): {exc}"
                return ret
        else:
            got = _one("wait_ready", timeout=timeout, interval=interval, active_vip=vip,
                       **conn)
    except CommandExecutionError as exc:
        return _fail(ret, str(exc))
    ret["result"] = True
    if got["here"]:
        raft = f", raft {got['raft_state']}" if got.get("raft_state") else ""
        ret["comment"] = (f"oned {got['version']} answers{raft} (waited {got['waited']}s)")
    else:
        ret["comment"] = f"oned runs on the front-end holding {vip} (waited {got['waited']}s)"
    return ret


def raft_bootstrapped(name, service="opennebula", var_location="/var/lib/one", timeout=120,
                      mysql_client="mysql", **kwargs):
    """oned's database is bootstrapped, so that oned starts with its Raft SERVER_ID.

    A fresh database makes oned with SERVER_ID >= 0 exit with "Database has to be
    bootstraped to start oned in HA". Then (only then) oned is started once with SERVER_ID
    -1 and stopped again (``one.raft_bootstrap``; oned.conf ``name`` is put back as it was).

    name
        oned.conf path (its DB vector says where the database is)
    service
        oned's service (left stopped; the service state after this one starts it)
    timeout
        seconds to wait for the solo oned to answer
    """
    ret = _ret(name)
    conn = _conn(kwargs)
    try:
        if _one("db_bootstrapped", oned_conf=name, var_location=var_location,
                mysql_client=mysql_client):
            ret["result"] = True
            ret["comment"] = "oned's database is bootstrapped"
            return ret
        changes = {"bootstrapped": {"old": False, "new": True}}
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = changes
            ret["comment"] = (f"oned's database would be bootstrapped (service {service} "
                              "started once with SERVER_ID -1, then stopped)")
            return ret
        done = _one("raft_bootstrap", oned_conf=name, service=service, timeout=timeout, **conn)
        if not _one("db_bootstrapped", oned_conf=name, var_location=var_location,
                    mysql_client=mysql_client):
            return _fail(ret, "verification failed: oned's database is still not "
                              "bootstrapped after the SERVER_ID -1 start")
        ret["result"] = True
        ret["changes"] = changes
        ret["comment"] = (f"oned's database bootstrapped (oned {done['version']} started with "
                          f"SERVER_ID -1, answered after {done['waited']}s, stopped)")
        return ret
    except CommandExecutionError as exc:
        ret["changes"] = {}
        return _fail(ret, str(exc))
