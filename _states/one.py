"""OpenNebula objects as Salt states (datastores, hosts, clusters, marketplaces, transient
VMs, oned's readiness and Raft bootstrap), through ``one.*``, on the formula's engine
(``_utils/ohaf_state.py``).

Every state takes the oned connection as keyword arguments passed through to the ``one``
execution module (``endpoint``, ``one_auth_file`` or ``username`` + ``password``,
``timeout``, ``verify_ssl``); reads come from one pool call per kind per run. The object
states also take ``active_vip``: they act only where that address is configured (the active
front-end under pacemaker/rgmanager, opennebula/register/active.jinja), elsewhere they
succeed with "not the active front-end" (``one.vip_local``, run-cached: one ``ip`` for N
states). Template attributes that look secret read ``<hidden>`` in ``changes``.
"""
from salt.exceptions import CommandExecutionError

# keys of an update diff that are not template attributes (those are upper-case)
_OWN_KEYS = ("clusters", "cluster", "drivers", "hosts", "datastores")


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if "one.datastore_info" in __salt__:
        return "one"
    return (False, "one: the one execution module is not available (pyone missing?)")


# -- helpers of the closures ---------------------------------------------------------------
def _split(kwargs):
    """(connection arguments, active_vip) of a state's keyword arguments."""
    conn = {k: v for k, v in kwargs.items() if not k.startswith("__") and k != "active_vip"}
    return conn, kwargs.get("active_vip")


def _active(vip):
    """``active_vip``: end the state (nothing to do) where the VIP is not configured."""
    if vip and not __salt__["one.vip_local"](vip, cache=True):
        _u("ohaf_state.skip")(
            f"not the active front-end ({vip} is not configured here): nothing to do")


def _one(fun, *args, **kwargs):
    return __salt__[f"one.{fun}"](*args, **kwargs)


def _tmpl(fun, *args):
    return _u(f"ohaf_one_template.{fun}")(*args)


def _attrs(changes, want):
    """The template attributes of an update diff, with their wanted values."""
    return {k: want[k] for k in sorted(changes) if k not in _OWN_KEYS}


def _mask(changes):
    """Secret template attributes hidden (vector members too), in creations/removals
    (``{"old"|"new": {"template": {...}}}``) and in attribute updates."""
    if _created(changes) or _u("ohaf_state.is_removal")(changes):
        mask = _u("ohaf_secret.mask_mapping")
        return {k: dict(v, template=mask(v["template"]))
                if isinstance(v, dict) and "template" in v else v for k, v in changes.items()}
    return _u("ohaf_secret.mask_changes")(changes)


def _created(changes):
    return _u("ohaf_state.is_creation")(changes)


def _missing(err, test_comment):
    """A referenced object is missing: refused; pending in test mode (a state may create it)."""
    if __opts__["test"]:
        _u("ohaf_state.pending")(test_comment)
    _u("ohaf_state.refuse")(err)


def _cluster_id(cluster, conn, what):
    """The id of ``cluster`` (None: membership not managed)."""
    if cluster is None:
        return None
    cid = _one("lookup_id", "cluster", cluster, cache=True, **conn)
    if cid is None:
        err = f"cluster {cluster!r} does not exist"
        _missing(err, f"{err} (yet); {what} cannot be checked against it")
    return cid


def _present_comments(kind, name, st):
    """comment_ok / comment_test / comment_done of a ``<kind>_present`` state; the object's
    id comes from the read or the allocate (``st["id"]``)."""
    return {
        "comment_ok": lambda cur: f"{kind} {name} (id {cur['id']}) is in the desired state",
        "comment_test": lambda ch: (
            f"{kind} {name} would be created" if _created(ch)
            else f"{kind} {name} (id {st['id']}) would be updated: {', '.join(sorted(ch))}"),
        "comment_done": lambda ch: (
            f"{kind} {name} created (id {st['id']})" if _created(ch)
            else f"{kind} {name} (id {st['id']}) updated"),
    }


def _run(name, **kwargs):
    """The engine, with this module's secret mask unless the state brings its own."""
    kwargs.setdefault("mask", _mask)
    return _u("ohaf_state.run")(name, test=__opts__["test"], **kwargs)


# -- datastores ----------------------------------------------------------------------------
def datastore_present(name, template, cluster=None, allow_driver_change=False,
                      datastore_ids=None, **kwargs):
    """A datastore called ``name`` exists with (at least) the attributes in ``template``.

    template
        dict of template attributes (``TYPE``, ``DS_MAD``, ``TM_MAD``, ``BRIDGE_LIST``...),
        compared as oned stores them (names upper-case, values strings: ``YES``/``NO``, a
        list space-separated, TYPE/DISK_TYPE upper-case); the differing ones are sent with
        ``one.datastore.update`` type 1 (merge), the others left alone. A SYSTEM_DS has no
        DS_MAD; a BACKUP_DS (``DS_MAD: rsync``/``restic``) has no TM_MAD (oned stores ``-``).
    cluster
        cluster name or id the datastore must belong to (``one.cluster.adddatastore``; other
        memberships are kept). None: oned's default cluster on creation, else not managed.
    allow_driver_change
        TYPE, DS_MAD and TM_MAD of an existing datastore change only when True (re-pointing
        the drivers of a datastore that holds images can orphan them): else refused.
    datastore_ids
        ``{ATTRIBUTE: datastore name(s)}``: the attribute is the comma-separated ids of those
        datastores (``COMPATIBLE_SYS_DS``), looked up when the state runs; a missing one
        fails the state (test mode: pending). Not in ``template`` too.

    .. code-block:: yaml

        linstor_image:
          one.datastore_present:
            - template:
                TYPE: IMAGE_DS
                DS_MAD: linstor
                TM_MAD: linstor
                LINSTOR_RESOURCE_GROUP: one_rg
                BRIDGE_LIST: [alpha, bravo, charlie, delta]
            - datastore_ids: {COMPATIBLE_SYS_DS: linstor_system}
            - cluster: default
            - endpoint: http://127.0.0.1:2633/RPC2
            - one_auth_file: /var/lib/one/.one/one_auth
            - active_vip: 192.168.100.10
            - require:
              - one: linstor_system
    """
    conn, vip = _split(kwargs)
    st = {"applied": False, "created": False}

    def precheck():
        _active(vip)
        st["want"] = _tmpl("normalize", template)
        st["refs"], problem = _tmpl("datastore_refs", datastore_ids, st["want"])
        problem = problem or _tmpl("datastore_problem", st["want"])
        if problem:
            _u("ohaf_state.refuse")(problem)

    def read():
        st["cid"] = _cluster_id(cluster, conn, f"datastore {name}")
        for attr, refs in st["refs"].items():
            ids = []
            for ref in refs:
                oid = _one("lookup_id", "datastore", ref, cache=True, **conn)
                if oid is None:
                    err = f"datastore {ref!r} ({attr} of datastore {name}) does not exist"
                    _missing(err, f"{err} (yet); {attr} cannot be resolved")
                ids.append(str(oid))
            st["want"][attr] = ",".join(ids)
        return _one("datastore_info", name, cache=True, **conn)

    def diff(cur):
        if cur is None:
            return {"old": None, "new": {"name": name, "template": st["want"],
                                         "cluster": "default" if cluster is None else cluster}}
        st.setdefault("id", cur["id"])
        changes = _tmpl("diff", st["want"], _tmpl("datastore_view", cur))
        drivers = _tmpl("driver_change", changes)
        if drivers and not allow_driver_change and not st["applied"]:
            _u("ohaf_state.refuse")(
                f"datastore {name} (id {cur['id']}) has {drivers[0]}, wanted {drivers[1]}; "
                "refusing to change TYPE/DS_MAD/TM_MAD of an existing datastore unless "
                "allow_driver_change is True")
        if st["cid"] is not None and st["cid"] not in cur["clusters"]:
            changes["clusters"] = {"old": cur["clusters"],
                                   "new": sorted(cur["clusters"] + [st["cid"]])}
        return changes

    def apply(cur, changes):
        st["applied"], st["created"], cid = True, cur is None, st["cid"]
        if cur is None:
            st["id"] = _one("datastore_allocate", name, _tmpl("render", st["want"]),
                            cluster_id=-1 if cid is None else cid, cache=True, **conn)
            return
        attrs = _attrs(changes, st["want"])
        if attrs:
            _one("datastore_update", cur["id"], _tmpl("render", attrs), merge=True, cache=True,
                 **conn)
        if "clusters" in changes:
            _one("cluster_adddatastore", cid, cur["id"], cache=True, **conn)

    def verify_failed(left, after):
        what = sorted(k for k in left if k not in _OWN_KEYS) or "cluster membership"
        if not st["created"]:
            return f"verification failed: datastore {name} still differs in {what}"
        return f"verification failed: datastore {name} (id {st['id']}) " + (
            "not found after allocate" if after is None else f"differs after allocate: {what}")

    return _run(name, precheck=precheck, read=read, diff=diff, apply=apply,
                comment_verify=verify_failed, **_present_comments("datastore", name, st))


def _absent(kind, name, kwargs, busy, old):
    """The one shape of every ``*_absent``: already absent, or refused while ``busy(current)``
    names what still uses it, else deleted (``changes``: ``old(current)`` -> None)."""
    conn, vip = _split(kwargs)
    st = {"applied": False}

    def diff(cur):
        if cur is None:
            return {}
        st["id"] = cur["id"]
        why = None if st["applied"] else busy(cur)
        if why:
            _u("ohaf_state.refuse")(f"{kind} {name} (id {cur['id']}) {why}")
        return {"old": {"id": cur["id"], "name": name, **old(cur)}, "new": None}

    def apply(cur, changes):
        st["applied"] = True
        _one(f"{kind}_delete", cur["id"], cache=True, **conn)

    return _run(name, precheck=lambda: _active(vip), diff=diff, apply=apply,
                read=lambda: _one(f"{kind}_info", name, cache=True, **conn),
                comment_ok=f"{kind} {name} is already absent",
                comment_test=lambda ch: f"{kind} {name} (id {st['id']}) would be deleted",
                comment_done=lambda ch: f"{kind} {name} (id {st['id']}) deleted",
                comment_verify=f"verification failed: {kind} {name} still exists")


def datastore_absent(name, **kwargs):
    """No datastore called ``name``. Refused (result False) while it still holds images.

    .. code-block:: yaml

        old_images:
          one.datastore_absent:
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    return _absent(
        "datastore", name, kwargs,
        busy=lambda c: c["images"] and f"still holds images {c['images']}; not deleting it",
        old=lambda c: {"type": c["type"], "template": c["template"]})


# -- hosts ---------------------------------------------------------------------------------
def host_present(name, im_mad, vm_mad, cluster=None, template=None, **kwargs):
    """A host called ``name`` (``onehost create name -i im_mad -v vm_mad``) in ``cluster``.

    cluster
        cluster name or id; an existing host in another cluster is moved
        (``one.cluster.addhost``). None: oned's default cluster on creation, else not managed.
    template
        optional dict of host template attributes, merged (update type 1), only differing ones.

    im_mad / vm_mad of an existing host cannot be changed in place: result False (remove the
    host with ``one.host_absent`` and re-create it).

    .. code-block:: yaml

        cloud-01:
          one.host_present:
            - im_mad: kvm
            - vm_mad: kvm
            - cluster: default
            - template:
                RESERVED_CPU: 100
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    conn, vip = _split(kwargs)
    st = {"applied": False, "created": False}

    def precheck():
        _active(vip)
        st["want"] = _tmpl("normalize", template) if template else {}

    def read():
        st["cid"] = _cluster_id(cluster, conn, f"host {name}")
        return _one("host_info", name, cache=True, **conn)

    def diff(cur):
        if cur is None:
            new = {"name": name, "im_mad": im_mad, "vm_mad": vm_mad,
                   "cluster": "default" if cluster is None else cluster}
            return {"old": None, "new": dict(new, template=st["want"]) if st["want"] else new}
        st.setdefault("id", cur["id"])
        changes = _tmpl("diff", st["want"], cur["template"])
        if (cur["im_mad"], cur["vm_mad"]) != (im_mad, vm_mad):
            if not st["applied"]:
                _u("ohaf_state.refuse")(
                    f"host {name} (id {cur['id']}) has im_mad={cur['im_mad']}, "
                    f"vm_mad={cur['vm_mad']}, wanted im_mad={im_mad}, vm_mad={vm_mad}; drivers "
                    "cannot be changed in place: remove the host (one.host_absent) and "
                    "re-create it")
            changes["drivers"] = {"old": [cur["im_mad"], cur["vm_mad"]], "new": [im_mad, vm_mad]}
        if st["cid"] is not None and cur["cluster_id"] != st["cid"]:
            changes["cluster"] = {"old": cur["cluster"], "new": cluster}
        return changes

    def apply(cur, changes):
        st["applied"], st["created"], cid = True, cur is None, st["cid"]
        if cur is None:
            st["id"] = _one("host_allocate", name, im_mad, vm_mad,
                            cluster_id=-1 if cid is None else cid, cache=True, **conn)
        elif "cluster" in changes:
            _one("cluster_addhost", cid, cur["id"], cache=True, **conn)
        attrs = st["want"] if cur is None else _attrs(changes, st["want"])
        if attrs:
            _one("host_update", st["id"], _tmpl("render", attrs), merge=True, cache=True, **conn)

    def verify_failed(left, after):
        attrs = sorted(k for k in left if k not in _OWN_KEYS)
        problems = ["not found"] if after is None else (
            ["drivers differ"] * ("drivers" in left)
            + [f"in cluster {after['cluster']}"] * ("cluster" in left)
            + [f"template differs in {attrs}"] * bool(attrs))
        where = f"host {name} (id {st['id']})" if st["created"] else f"host {name}"
        return f"verification failed: {where}: {'; '.join(problems)}"

    return _run(name, precheck=precheck, read=read, diff=diff, apply=apply,
                comment_verify=verify_failed, **_present_comments("host", name, st))


def host_absent(name, **kwargs):
    """No host called ``name``. Refused (result False) while it runs VMs (oned refuses it).

    .. code-block:: yaml

        cloud-09:
          one.host_absent:
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    return _absent(
        "host", name, kwargs,
        busy=lambda c: c["vms"] and f"still has VMs {c['vms']}; not deleting it",
        old=lambda c: {"im_mad": c["im_mad"], "vm_mad": c["vm_mad"], "cluster": c["cluster"]})


# -- clusters ------------------------------------------------------------------------------
def cluster_present(name, hosts=None, datastores=None, template=None, **kwargs):
    """A cluster called ``name`` containing (at least) ``hosts`` and ``datastores``.

    hosts / datastores
        lists of names (or ids) that must be members; they must already exist (declare them
        first, or ``require`` their states). Members not listed are left alone. Adding a host
        moves it out of its current cluster (oned: one cluster per host).
    template
        optional dict of cluster template attributes (RESERVED_CPU...), merged (type 1).

    .. code-block:: yaml

        prod:
          one.cluster_present:
            - hosts: [cloud-01, cloud-02]
            - datastores: [linstor_system_auto_place, linstor_image_auto_place]
            - template:
                RESERVED_MEM: 10%
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    conn, vip = _split(kwargs)
    members = {"hosts": list(hosts or []), "datastores": list(datastores or [])}
    st = {"ids": {"hosts": {}, "datastores": {}}}

    def precheck():
        _active(vip)
        st["want"] = _tmpl("normalize", template) if template else {}

    def read():
        missing = []
        for key, refs in members.items():
            for ref in refs:
                oid = st["ids"][key][ref] = _one("lookup_id", key[:-1], ref, cache=True, **conn)
                missing += [] if oid is not None else [f"{key[:-1]} {ref}"]
        if missing:
            err = f"cluster {name}: {', '.join(missing)} does not exist"
            _missing(err, err + " (yet)")
        return _one("cluster_info", name, cache=True, **conn)

    def diff(cur):
        if cur is None:
            new = dict(members, name=name)
            return {"old": None, "new": dict(new, template=st["want"]) if st["want"] else new}
        st.setdefault("id", cur["id"])
        changes = _tmpl("diff", st["want"], cur["template"])
        for key, refs in members.items():
            added = [ref for ref in refs if st["ids"][key][ref] not in cur[key]]
            if added:
                changes[key] = {"added": added}
        return changes

    def apply(cur, changes):
        if cur is None:
            st["id"] = _one("cluster_allocate", name, cache=True, **conn)
        for key, refs in members.items():
            for ref in refs if cur is None else changes.get(key, {}).get("added", []):
                _one(f"cluster_add{key[:-1]}", st["id"], st["ids"][key][ref], cache=True,
                     **conn)
        attrs = st["want"] if cur is None else _attrs(changes, st["want"])
        if attrs:
            _one("cluster_update", st["id"], _tmpl("render", attrs), merge=True, cache=True,
                 **conn)

    def verify_failed(left, after):
        if after is None:
            return f"verification failed: cluster {name} not found"
        problems = [f"{key[:-1]} {ref}" for key in members
                    for ref in left.get(key, {}).get("added", [])]
        problems += ["template"] * any(k not in _OWN_KEYS for k in left)
        return f"verification failed: cluster {name} lacks {', '.join(problems)}"

    return _run(name, precheck=precheck, read=read, diff=diff, apply=apply,
                comment_verify=verify_failed, **_present_comments("cluster", name, st))


def cluster_absent(name, **kwargs):
    """No cluster called ``name``. Refused (result False) while it has hosts, datastores or
    vnets (oned refuses it).

    .. code-block:: yaml

        staging:
          one.cluster_absent:
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    def busy(current):
        members = {k: current[k] for k in ("hosts", "datastores", "vnets") if current[k]}
        return members and "is not empty: " + ", ".join(f"{k} {v}" for k, v in members.items())

    return _absent("cluster", name, kwargs, busy=busy, old=lambda c: {})


# -- marketplaces --------------------------------------------------------------------------
def _marketplace(name, enabled, kwargs):
    """``marketplace_enabled`` / ``marketplace_disabled``."""
    conn, vip = _split(kwargs)
    want = "ENABLED" if enabled else "DISABLED"
    st = {"applied": False}

    def read():
        return _one("marketplace_info", name, cache=True, **conn)

    def diff(cur):
        if cur is None and not st["applied"]:
            if enabled:
                _u("ohaf_state.refuse")(f"marketplace {name} does not exist")
            return {}
        if cur is not None:
            st["id"] = cur["id"]
        state = cur["state"] if cur else "absent"
        return {} if state == want else {"state": {"old": state, "new": want}}

    def apply(cur, changes):
        st["applied"] = True
        _one("marketplace_enable", cur["id"], enable=enabled, cache=True, **conn)

    return _run(
        name, precheck=lambda: _active(vip), read=read, diff=diff, apply=apply,
        comment_ok=lambda cur: f"marketplace {name} (id {cur['id']}) is already {want}" if cur
        else f"marketplace {name} does not exist: nothing to disable",
        comment_test=lambda ch: f"marketplace {name} (id {st['id']}) would be {want}",
        comment_done=lambda ch: f"marketplace {name} (id {st['id']}) {want}",
        comment_verify=lambda left, after: (
            f"verification failed: marketplace {name} is {left['state']['old']}, not {want}"))


def marketplace_enabled(name, **kwargs):
    """The marketplace called ``name`` is enabled (``onemarket enable``): oned monitors it
    and users can import its apps. A missing marketplace is an error.

    .. code-block:: yaml

        Linux Containers:
          one.marketplace_enabled:
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    return _marketplace(name, True, kwargs)


def marketplace_disabled(name, **kwargs):
    """The marketplace called ``name`` is disabled (``onemarket disable``): oned no longer
    contacts its endpoint (a cloud without internet access). A missing marketplace is
    already disabled (result True, no changes). Apps already imported stay.

    .. code-block:: yaml

        OpenNebula Public:
          one.marketplace_disabled:
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    return _marketplace(name, False, kwargs)


# -- transient VMs after a failover ------------------------------------------------------
def transient_recovered(name, policy="report", include_failed=False, **kwargs):
    """After a front-end failover, VMs stuck in transient states are dealt with per
    ``policy`` (``one.recover_transient``): ``report`` only lists them in the comment,
    ``success`` / ``failure`` / ``retry`` recover them (``onevm recover``); ``name`` is a
    label. ``include_failed`` also recovers VMs in ``*_FAILURE`` states (always listed). A
    VM oned refuses to recover: result False, its error in the comment.

    .. code-block:: yaml

        opennebula-recover-transient:
          one.transient_recovered:
            - policy: retry
            - include_failed: true
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    conn, vip = _split(kwargs)
    st = {}
    allowed = ("report", "success", "failure", "retry")

    def precheck():
        _active(vip)
        if policy not in allowed:
            _u("ohaf_state.refuse")(
                f"policy {policy!r} not allowed; allowed: {', '.join(allowed)}")

    def read():
        found = _one("recover_transient", policy="report", **conn)
        return _u("ohaf_one_lcm.summary")(found, include_failed)

    def diff(found):
        if policy == "report" or not found["targets"]:
            return {}
        return {"recovered": {"old": None, "new": found["targets"], "policy": policy}}

    def apply(found, changes):
        done = st["done"] = _one("recover_transient", policy=policy,
                                 include_failed=include_failed,
                                 vm_ids=changes["recovered"]["new"], **conn)
        # report what oned recovered (a VM may have left its transient state meanwhile)
        if done["recovered"]:
            changes["recovered"]["new"] = done["recovered"]
        else:
            changes.clear()
        if done["errors"]:
            errs = "; ".join(f"VM {e['id']}: {e['error']}" for e in done["errors"])
            _u("ohaf_state.refuse")(f"recover {policy} failed for {errs}", dict(changes))

    return _run(
        name, precheck=precheck, read=read, diff=diff, apply=apply, verify=False,
        comment_ok=lambda found: (
            f"policy report: VMs in transient/failed states: {found['listed']}"
            if found["targets"] else f"no VM to recover (transient/failed: {found['listed']})"),
        comment_test=lambda ch: f"VMs {ch['recovered']['new']} would be recovered as {policy}",
        comment_done=lambda ch: f"VMs {st['done']['recovered']} recovered as {policy}")


# -- oned serving API requests; Raft bootstrap of a fresh database ---------------------
def oned_ready(name, timeout=60, interval=1, vip=None, **kwargs):
    """oned answers API requests (``one.wait_ready``; an open port is not enough: under Raft
    oned answers "no leader found" for seconds after it listens); ``name`` is a label.
    ``vip`` (pacemaker/rgmanager): ready when the VIP is here and oned answers here, or the
    VIP answers from another front-end. One check first; not ready: test mode says it would
    wait (result None), a real run waits up to ``timeout`` seconds and fails with oned's last
    answer (credentials rejected: at once). Waiting changes nothing: ``changes`` is ``{}``.

    .. code-block:: yaml

        opennebula-register-wait-for-oned:
          one.oned_ready:
            - timeout: 120
            - endpoint: http://127.0.0.1:2633/RPC2
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    conn = {k: v for k, v in kwargs.items() if not k.startswith("__")}
    st = {}

    def read():
        try:
            return _one("wait_ready", timeout=0, interval=0.05, active_vip=vip, **conn)
        except CommandExecutionError as exc:
            return {"ready": False, "error": str(exc)}

    def apply(probe, changes):
        st["got"] = _one("wait_ready", timeout=timeout, interval=interval, active_vip=vip,
                         **conn)

    def answered(got):
        if not got["here"]:
            return f"oned runs on the front-end holding {vip} (waited {got['waited']}s)"
        raft = f", raft {got['raft_state']}" if got.get("raft_state") else ""
        return f"oned {got['version']} answers{raft} (waited {got['waited']}s)"

    return _run(
        name, read=read, apply=apply, verify=False, mask=lambda changes: {},
        diff=lambda probe: {} if probe["ready"] else {
            "ready": {"old": False, "new": True}, "error": probe["error"]},
        comment_ok=answered, comment_done=lambda ch: answered(st["got"]),
        comment_test=lambda ch: f"oned would be waited for (up to {timeout}s): {ch['error']}")


def raft_bootstrapped(name, service="opennebula", var_location="/var/lib/one", timeout=120,
                      mysql_client="mysql", zone_id=0, server_name=None, server_rpc=None,
                      **kwargs):
    """oned's database is bootstrapped, so that oned starts with its Raft SERVER_ID: a fresh
    database makes oned with SERVER_ID >= 0 exit ("Database has to be bootstraped to start
    oned in HA"). Then (only then) ``service`` is started once with SERVER_ID -1, waited for
    up to ``timeout`` seconds, this server added to zone ``zone_id`` (``server_name``,
    ``server_rpc``: the front-end HA guide's `onezone server-add` while solo) and stopped
    (``one.raft_bootstrap``; the oned.conf ``name``, whose DB vector says where the database
    is, is put back as it was).

    .. code-block:: yaml

        /etc/one/oned.conf:
          one.raft_bootstrapped:
            - service: opennebula
            - one_auth_file: /var/lib/one/.one/one_auth
    """
    conn = {k: v for k, v in kwargs.items() if not k.startswith("__")}
    st = {}

    def read():
        return _one("db_bootstrapped", oned_conf=name, var_location=var_location,
                    mysql_client=mysql_client)

    def apply(current, changes):
        st["done"] = _one("raft_bootstrap", oned_conf=name, service=service, timeout=timeout,
                          zone_id=zone_id, server_name=server_name, server_rpc=server_rpc,
                          **conn)

    return _run(
        name, read=read, apply=apply,
        diff=lambda ok: {} if ok else {"bootstrapped": {"old": False, "new": True}},
        comment_ok="oned's database is bootstrapped",
        comment_test=(f"oned's database would be bootstrapped (service {service} started once "
                      "with SERVER_ID -1, then stopped)"),
        comment_done=lambda ch: (
            f"oned's database bootstrapped (oned {st['done']['version']} started with "
            f"SERVER_ID -1, answered after {st['done']['waited']}s, stopped)"),
        comment_verify=("verification failed: oned's database is still not bootstrapped after "
                        "the SERVER_ID -1 start"))


# -- database replication ------------------------------------------------------------------
def db_replication(name, user, password, wait=120, client="mysql", socket=None, port=None):
    """This front-end's MySQL/MariaDB server replicates from its peer ``name`` (the
    Pacemaker/DRBD guide's master-master pair): when SHOW SLAVE STATUS is empty, wait up to
    ``wait`` seconds for the peer to answer SHOW MASTER STATUS with the replication account
    ``user``/``password``, then CHANGE MASTER TO its CURRENT binlog position + START SLAVE
    (``one.db_replication_start``: the password on the client's stdin and in its environment
    only, never in argv, output or comments). A configured replica is never changed.

    A peer that does not answer in time ends the state with no change and result True (both
    front-ends' first highstates run side by side; the later one starts replication). Test
    mode reports the change without waiting for the peer.

    .. code-block:: yaml

        opennebula-db-replication-start:
          one.db_replication:
            - name: 192.168.100.12
            - user: replicator
            - password: <pillar>
    """
    db = {"client": client, "socket": socket}
    st = {}

    def read():
        return _one("db_replica_configured", **db)

    def apply(_cur, _changes):
        if not _one("db_replication_pending", name, user, password, wait=wait, port=port, **db):
            _u("ohaf_state.skip")(
                f"replication from {name} not started: the peer did not answer SHOW MASTER "
                f"STATUS as {user} within {wait} s (the next highstate starts it)")
        st["started"] = _one("db_replication_start", name, user, password, port=port, **db)

    return _run(
        name, read=read, apply=apply,
        diff=lambda configured: {} if configured else {
            "replication": {"old": None, "new": f"from {name} as {user}"}},
        comment_ok="this server replicates already (SHOW SLAVE STATUS has a row)",
        comment_test=f"replication from {name} would be started at its current binlog position",
        comment_done=f"replication from {name} started",
        report=lambda changes, _after: {"replication": {"old": None, "new": st["started"]}})
