"""
DRBD states: ``drbd.resource_up``, ``drbd.primary``, ``drbd.secondary``, ``drbd.synced``.

Every state runs on the formula's state engine (``ohaf_state.run``): read (the resource's
status and the facts its data-safety check needs) -> diff -> ``test=True`` returns the
diff (result None, nothing touched; a refusal the run would meet is named in the comment)
-> apply through the ``drbd`` execution module -> re-read and verify -> ``changes`` only
when something changed.

Data safety is decided once, in ``_utils/ohaf_drbd.py``: ``create_md_problems`` (rule 1),
``primary_problems`` (rule 2), ``users`` (rule 3). A state refuses from the facts it read
before any write; the execution module checks again on its own (``drbd.create_md``,
``drbd.primary force=True``, ``drbd.secondary`` called from the CLI).

.. code-block:: yaml

    drbd-one-disk-up:
      drbd.resource_up:
        - name: one-disk
        - wipe_backing_device: False      # pillar drbd:resources:one-disk:wipe_backing_device

    drbd-one-disk-initial-primary:        # only rendered on the initial_primary minion
      drbd.primary:
        - name: one-disk
        - force: True
        - initial_primary: cloud-cc01     # pillar drbd:initial_primary

    drbd-one-disk-synced:
      drbd.synced:
        - name: one-disk
        - timeout: 600
"""


__virtualname__ = "drbd"


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if "drbd.status" in __salt__:
        return __virtualname__
    return (False, "drbd state: the drbd execution module is not available")


def _status(name, node, config):
    return __salt__["drbd.status"](name, node=node, config=config, refresh=True).get(name)


def _summary(res):
    return _u("ohaf_drbd.summarize")(res)


def _refused(what, problems):
    return "; {} would be REFUSED: {}".format(what, "; ".join(problems)) if problems else ""


def _reader(load):
    """``load`` as the engine's ``read``, keeping the last facts read (the comments name
    what a read found: the status after the change, the problems of a refusal)."""
    last = {}

    def read():
        last["facts"] = load()
        return last["facts"]
    return read, last


def _not_up_here(name, node, config):
    def precheck():
        if _status(name, node, config) is None:
            _u("ohaf_state.refuse")("DRBD resource {} is not up on this node".format(name))
    return precheck


# ----------------------------------------------------------------------------- up
def resource_up(name, wipe_backing_device=False, node=None, config=None):
    """
    Ensure the resource is up on this node: ``create-md`` when it has no metadata yet
    (data-safety rule 1: refused when the backing device carries a filesystem/LVM
    signature unless ``wipe_backing_device: True``), then ``drbdadm up``; when it is
    already up, ``drbdadm adjust`` if the running setup differs from the config
    (``drbdadm -d adjust`` lists pending commands). Never promotes or demotes.

    name
        DRBD resource name (as in ``/etc/drbd.d/<name>.res``).
    wipe_backing_device
        Per-resource pillar flag; only then may existing signatures be overwritten.
    node
        This node's ``on`` host name in the config (default: grains nodename/host/id).
    config
        Alternative drbd.conf (``drbdadm -c``); default ``/etc/drbd.conf``.

    .. code-block:: yaml

        drbd-resource-up-one-disk:
          drbd.resource_up:
            - name: one-disk
            - wipe_backing_device: false
            - node: cloud-cc01
            - config: /etc/drbd.conf
    """
    applied = {}

    def load():
        res = _status(name, node, config)
        facts = {"res": res, "metadata": True, "problems": [], "pending": []}
        if res is None:
            facts["metadata"] = __salt__["drbd.has_metadata"](name, config=config)
            if not facts["metadata"]:
                facts["problems"] = __salt__["drbd.create_md_problems"](
                    name, wipe_backing_device=wipe_backing_device, node=node, config=config)
        elif not applied or "adjust" in applied:
            # right after `drbdadm up` only "is it up" is verified
            facts["pending"] = __salt__["drbd.adjust_pending"](name, config=config)
        return facts
    read, last = _reader(load)

    def diff(facts):
        if facts["res"] is None:
            changes = {} if facts["metadata"] else {"metadata": {"old": None, "new": "created"}}
            changes["up"] = {"old": False, "new": True}
            return changes
        if facts["pending"]:
            return {"adjust": {"old": None, "new": facts["pending"]}}
        return {}

    def apply(facts, changes):
        applied.update(changes)
        if "metadata" in changes:
            if facts["problems"]:
                _u("ohaf_state.refuse")(_u("ohaf_drbd.refusal")(
                    "create-md", name, facts["problems"]))
            __salt__["drbd.create_md"](name, wipe_backing_device=wipe_backing_device,
                                       node=node, config=config)
        if "up" in changes:
            __salt__["drbd.up"](name, config=config)
        if "adjust" in changes:
            __salt__["drbd.adjust"](name, config=config)

    def comment_test(changes):
        verb = ("adjusted" if "adjust" in changes else "given metadata and brought up"
                if "metadata" in changes else "brought up")
        return "DRBD resource {} would be {}{}".format(
            name, verb, _refused("create-md", last["facts"]["problems"]))

    def comment_verify(left, after):
        if "adjust" in left:
            return "verification failed: drbdadm adjust still pending: {}".format(
                "; ".join(after["pending"]))
        return "verification failed: {} is not up after drbdadm up".format(name)

    return _u("ohaf_state.run")(name, test=__opts__["test"], **dict(
        read=read, diff=diff, apply=apply,
        comment_ok=lambda facts: "DRBD resource {} is up and matches its config ({})".format(
            name, _summary(facts["res"])),
        comment_test=comment_test, comment_verify=comment_verify,
        comment_done=lambda changes: "DRBD resource {} is up ({})".format(
            name, _summary(last["facts"]["res"]))))


# ----------------------------------------------------------------------------- roles
def primary(name, force=False, initial_primary=None, node=None, config=None,
            initial_only=False):
    """
    Ensure this node is Primary for the resource. Already Primary: no changes. Not up on
    this node: result False.

    force
        Allow the initial-full-sync promotion (8.4: ``--overwrite-data-of-peer``, 9:
        ``--force``). It is used only when needed (some local disk not UpToDate) and
        refused (result False; ``test=True``: result None naming the refusal, nothing
        touched) unless this is a never-synced resource, both sides Inconsistent, and
        ``initial_primary`` names this node (data-safety rule 2,
        ``ohaf_drbd.primary_problems``, the check the module's ``drbd.primary`` makes too).
        When the local disk is already UpToDate, a plain promotion is done instead.
    initial_primary
        Minion id chosen in pillar (``drbd:initial_primary``) for the first sync.
    node
        This node's id for the ``initial_primary`` comparison (default grain ``id``).
    config
        Alternative drbd.conf (``drbdadm -c``).
    initial_only
        Act only for the initial full sync: in any other situation (already synced,
        Secondary under Pacemaker, the peer Primary, not ``initial_primary``...) the state
        has nothing to do (result True, no changes, the reasons in the comment) instead of
        promoting or refusing, so it never competes with Pacemaker for the role. The same
        check as the forced promotion's (``ohaf_drbd.primary_problems``).

    .. code-block:: yaml

        drbd-initial-primary-one-disk:
          drbd.primary:
            - name: one-disk
            - force: true
            - initial_only: true
            - initial_primary: cloud-cc01
            - node: cloud-cc01
            - require:
              - drbd: drbd-resource-up-one-disk
    """
    def load():
        res = _status(name, node, config)
        forced = res is not None and res["role"] != "Primary" and \
            _u("ohaf_drbd.force_needed")(force, res)
        problems = []
        if forced or (initial_only and res is not None and res["role"] != "Primary"):
            problems = _u("ohaf_drbd.primary_problems")(
                name, res, __salt__["drbd.get_gi"](name, config=config),
                node or __grains__.get("id"), initial_primary)
        return {"res": res, "forced": forced, "problems": problems}
    read, last = _reader(load)

    def diff(facts):
        res = facts["res"]
        if res is not None and res["role"] == "Primary":
            return {}
        if initial_only and facts["problems"]:
            _u("ohaf_state.skip")("DRBD resource {} is not in its initial sync ({}): nothing "
                                  "to do".format(name, "; ".join(facts["problems"])))
        changes = {"role": {"old": res and res["role"], "new": "Primary"}}
        if facts["forced"]:
            changes["forced"] = {"old": None,
                                 "new": "initial full sync from {}".format(initial_primary)}
        return changes

    def apply(facts, changes):
        if facts["problems"]:
            _u("ohaf_state.refuse")(_u("ohaf_drbd.refusal")(
                "primary", name, facts["problems"]))
        __salt__["drbd.primary"](name, force=facts["forced"], initial_primary=initial_primary,
                                 node=node, config=config)

    return _u("ohaf_state.run")(name, test=__opts__["test"], **dict(
        read=read, diff=diff, apply=apply,
        precheck=_not_up_here(name, node, config),
        comment_ok="DRBD resource {} is already Primary".format(name),
        comment_test=lambda changes: "DRBD resource {} would be promoted{}{}".format(
            name, " with force (initial full sync)" if "forced" in changes else "",
            _refused("forced promotion", last["facts"]["problems"])),
        comment_verify=lambda left, after: "verification failed: {} is {}".format(
            name, _summary(after["res"])),
        comment_done=lambda changes: "DRBD resource {} promoted ({})".format(
            name, _summary(last["facts"]["res"]))))


def secondary(name, node=None, config=None):
    """
    Ensure this node is not Primary. Refused (result False, comment names the mount
    point / holder) while the device is in use (data-safety rule 3). A resource that is
    not up is not Primary: no changes.

    .. code-block:: yaml

        storage-drbd_aoe_lvm-handoff-one-disk:
          drbd.secondary:
            - name: one-disk
            - node: cloud-cc01
            - onchanges:
              - drbd: drbd-initial-primary-one-disk
    """
    def load():
        res = _status(name, node, config)
        primary_here = res is not None and res["role"] == "Primary"
        held = __salt__["drbd.users"](name, node=node, config=config) if primary_here else []
        return {"res": res, "held": held}
    read, last = _reader(load)

    def diff(facts):
        if facts["res"] is None or facts["res"]["role"] != "Primary":
            return {}
        return {"role": {"old": "Primary", "new": "Secondary"}}

    def apply(facts, changes):
        if facts["held"]:
            _u("ohaf_state.refuse")(_u("ohaf_drbd.refusal")(
                "secondary", name, facts["held"]))
        __salt__["drbd.secondary"](name, node=node, config=config)

    def comment_ok(facts):
        if facts["res"] is None:
            return "DRBD resource {} is not up (so not Primary)".format(name)
        return "DRBD resource {} is already {}".format(name, facts["res"]["role"])

    return _u("ohaf_state.run")(name, test=__opts__["test"], **dict(
        read=read, diff=diff, apply=apply, comment_ok=comment_ok,
        comment_test=lambda changes: "DRBD resource {} would be demoted{}".format(
            name, _refused("demotion", last["facts"]["held"])),
        comment_verify="verification failed: {} is still Primary".format(name),
        comment_done="DRBD resource {} demoted".format(name)))


# ----------------------------------------------------------------------------- sync
def synced(name, timeout=300, interval=2, node=None, config=None):
    """
    Wait, at most ``timeout`` seconds, until every volume is UpToDate here and on every
    peer. Already synced: no changes. Timeout / StandAlone / not up: result False.

    .. code-block:: yaml

        drbd-one-disk-synced:
          drbd.synced:
            - name: one-disk
            - timeout: 600
            - interval: 2
    """
    def read():
        return _status(name, node, config)

    def diff(res):
        if _u("ohaf_drbd.is_synced")(res):
            return {}
        return {"sync": {"old": _summary(res), "new": "UpToDate everywhere"}}

    def apply(res, changes):
        __salt__["drbd.wait_synced"](name, timeout=timeout, interval=interval, node=node,
                                     config=config)

    return _u("ohaf_state.run")(name, test=__opts__["test"], **dict(
        read=read, diff=diff, apply=apply,
        precheck=_not_up_here(name, node, config),
        comment_ok=lambda res: "DRBD resource {} is in sync ({})".format(name, _summary(res)),
        comment_test="would wait up to {}s for {} to sync".format(timeout, name),
        comment_verify=lambda left, after: "verification failed: {}".format(_summary(after)),
        comment_done="DRBD resource {} is in sync".format(name)))
