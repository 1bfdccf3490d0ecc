"""
DRBD states: ``drbd.resource_up``, ``drbd.primary``, ``drbd.secondary``, ``drbd.synced``.

Every state: read -> diff -> ``test=True`` returns the diff (result None, nothing
touched) -> act through the ``drbd`` execution module (which enforces the data-safety
rules) -> re-read and verify -> ``changes`` only when something changed.

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
from salt.exceptions import CommandExecutionError

__virtualname__ = "drbd"


def __virtual__():
    if "drbd.status" in __salt__:
        return __virtualname__
    return (False, "drbd state: the drbd execution module is not available")


def _ret(name):
    return {"name": name, "result": True, "changes": {}, "comment": ""}


def _status(name, node, config):
    return __salt__["drbd.status"](name, node=node, config=config, refresh=True).get(name)


def _summary(res):
    return __salt__["drbd.summarize"](res)


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
    """
    ret = _ret(name)
    try:
        current = _status(name, node, config)
        diff = {}
        problems = []
        pending = []
        if current is None:
            has_md = __salt__["drbd.has_metadata"](name, config=config)
            if not has_md:
                problems = __salt__["drbd.create_md_problems"](
                    name, wipe_backing_device=wipe_backing_device, node=node, config=config)
                diff["metadata"] = {"old": None, "new": "created"}
            diff["up"] = {"old": False, "new": True}
        else:
            pending = __salt__["drbd.adjust_pending"](name, config=config)
            if pending:
                diff["adjust"] = {"old": None, "new": pending}
        if not diff:
            ret["comment"] = "DRBD resource {} is up and matches its config ({})".format(
                name, _summary(current))
            return ret
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = diff
            ret["comment"] = "DRBD resource {} would be {}".format(
                name, "adjusted" if "adjust" in diff else
                ("given metadata and brought up" if "metadata" in diff else "brought up"))
            if problems:
                ret["comment"] += "; create-md would be REFUSED: " + "; ".join(problems)
            return ret
        if "metadata" in diff:
            __salt__["drbd.create_md"](name, wipe_backing_device=wipe_backing_device,
                                       node=node, config=config)
        if "up" in diff:
            __salt__["drbd.up"](name, config=config)
        if "adjust" in diff:
            __salt__["drbd.adjust"](name, config=config)
        after = _status(name, node, config)
        if after is None:
            ret["result"] = False
            ret["comment"] = "verification failed: {} is not up after drbdadm up".format(name)
            return ret
        if "adjust" in diff:
            still = __salt__["drbd.adjust_pending"](name, config=config)
            if still:
                ret["result"] = False
                ret["changes"] = diff
                ret["comment"] = "verification failed: drbdadm adjust still pending: {}".format(
                    "; ".join(still))
                return ret
        ret["changes"] = diff
        ret["comment"] = "DRBD resource {} is up ({})".format(name, _summary(after))
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
    return ret


# ----------------------------------------------------------------------------- roles
def primary(name, force=False, initial_primary=None, node=None, config=None):
    """
    Ensure this node is Primary for the resource. Already Primary: no changes.

    force
        Allow the initial-full-sync promotion (8.4: ``--overwrite-data-of-peer``, 9:
        ``--force``). It is used only when needed (some local disk not UpToDate) and
        the module refuses it unless this is a never-synced resource, both sides
        Inconsistent, and ``initial_primary`` names this node (data-safety rule 2).
        When the local disk is already UpToDate, a plain promotion is done instead.
    initial_primary
        Minion id chosen in pillar (``drbd:initial_primary``) for the first sync.
    node
        This node's id for the ``initial_primary`` comparison (default grain ``id``).
    """
    ret = _ret(name)
    try:
        current = _status(name, node, config)
        if current is None:
            ret["result"] = False
            ret["comment"] = "DRBD resource {} is not up on this node".format(name)
            return ret
        if current["role"] == "Primary":
            ret["comment"] = "DRBD resource {} is already Primary".format(name)
            return ret
        local_uptodate = all(v["disk"] == "UpToDate" for v in current["volumes"].values())
        use_force = bool(force) and not local_uptodate
        diff = {"role": {"old": current["role"], "new": "Primary"}}
        if use_force:
            diff["forced"] = {"old": None, "new": "initial full sync from {}".format(
                initial_primary)}
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = diff
            ret["comment"] = "DRBD resource {} would be promoted{}".format(
                name, " with force (initial full sync)" if use_force else "")
            if use_force:
                problems = __salt__["drbd.primary_problems"](
                    name, initial_primary=initial_primary, node=node, config=config)
                if problems:
                    ret["comment"] += "; forced promotion would be REFUSED: " + "; ".join(
                        problems)
            return ret
        __salt__["drbd.primary"](name, force=use_force, initial_primary=initial_primary,
                                 node=node, config=config)
        after = _status(name, node, config)
        if not after or after["role"] != "Primary":
            ret["result"] = False
            ret["comment"] = "verification failed: {} is {}".format(name, _summary(after))
            return ret
        ret["changes"] = diff
        ret["comment"] = "DRBD resource {} promoted ({})".format(name, _summary(after))
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
    return ret


def secondary(name, node=None, config=None):
    """
    Ensure this node is not Primary. Refused (result False, comment names the mount
    point / holder) while the device is in use (data-safety rule 3). A resource that is
    not up is not Primary: no changes.
    """
    ret = _ret(name)
    try:
        current = _status(name, node, config)
        if current is None:
            ret["comment"] = "DRBD resource {} is not up (so not Primary)".format(name)
            return ret
        if current["role"] != "Primary":
            ret["comment"] = "DRBD resource {} is already {}".format(name, current["role"])
            return ret
        diff = {"role": {"old": "Primary", "new": "Secondary"}}
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = diff
            ret["comment"] = "DRBD resource {} would be demoted".format(name)
            held = __salt__["drbd.users"](name, node=node, config=config)
            if held:
                ret["comment"] += "; demotion would be REFUSED: " + "; ".join(held)
            return ret
        __salt__["drbd.secondary"](name, node=node, config=config)
        after = _status(name, node, config)
        if after and after["role"] == "Primary":
            ret["result"] = False
            ret["comment"] = "verification failed: {} is still Primary".format(name)
            return ret
        ret["changes"] = diff
        ret["comment"] = "DRBD resource {} demoted".format(name)
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
    return ret


# ----------------------------------------------------------------------------- sync
def synced(name, timeout=300, interval=2, node=None, config=None):
    """
    Wait, at most ``timeout`` seconds, until every volume is UpToDate here and on every
    peer. Already synced: no changes. Timeout / StandAlone / not up: result False.
    """
    ret = _ret(name)
    try:
        current = _status(name, node, config)
        if current is None:
            ret["result"] = False
            ret["comment"] = "DRBD resource {} is not up on this node".format(name)
            return ret
        if __salt__["drbd.is_synced"](current):
            ret["comment"] = "DRBD resource {} is in sync ({})".format(name, _summary(current))
            return ret
        diff = {"sync": {"old": _summary(current), "new": "UpToDate everywhere"}}
        if __opts__["test"]:
            ret["result"] = None
            ret["changes"] = diff
            ret["comment"] = "would wait up to {}s for {} to sync".format(timeout, name)
            return ret
        after = __salt__["drbd.wait_synced"](name, timeout=timeout, interval=interval,
                                             node=node, config=config)
        if not __salt__["drbd.is_synced"](after):
            ret["result"] = False
            ret["comment"] = "verification failed: {}".format(_summary(after))
            return ret
        ret["changes"] = diff
        ret["comment"] = "DRBD resource {} is in sync".format(name)
    except CommandExecutionError as exc:
        ret["result"] = False
        ret["comment"] = str(exc)
    return ret
