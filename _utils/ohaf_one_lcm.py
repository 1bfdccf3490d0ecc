"""VM life-cycle (LCM) states after a front-end failover (``__utils__["ohaf_one_lcm.*"]``).

A VM is "transient" when oned is waiting for a driver (TM, VMM, IM) to report back on an
action. After a front-end failover the driver that ran the action died with the old oned, so
the answer never comes and the VM sits in that state until ``onevm recover``.

  transient: every LCM state whose name starts with one of ``_TRANSIENT_PREFIXES``
             (PROLOG*, BOOT*, EPILOG*, SHUTDOWN*, SAVE_*, MIGRATE, HOTPLUG*, DISK_SNAPSHOT*,
             DISK_RESIZE*, CLEANUP*, BACKUP*, RESTORE) plus UNKNOWN (recover --success sets
             RUNNING) ...
  ... except the *_FAILURE states: there the driver DID answer (with an error); oned is not
      waiting, an operator must decide (usually ``retry``). They are reported as "failed"
      and only acted on with ``include_failed``.
  not transient: LCM_INIT, RUNNING, and CANCEL/FAILURE (legacy, never set by oned >= 5).

BACKUP (69), BACKUP_POWEROFF (70), RESTORE (71): oned 6.10 and 7.4 (include/VirtualMachine.h
LcmState) have them, pyone's LCM_STATE enum (7.3) ends at 68: ``_ONED_LCM_STATES`` adds them.
They are transient: the backup/restore driver died with the old oned and nothing in oned
finishes them on its own (its scheduled-action manager only counts VMs in BACKUP*).
``onevm recover`` (LifeCycleManager::recover): --success runs trigger_backup_success
(BACKUP -> RUNNING, BACKUP_POWEROFF -> POWEROFF) / trigger_disk_restore_success
(RESTORE -> POWEROFF), --failure the matching *_failure (same target states, the backup or
restore marked failed). --retry does nothing for them (LifeCycleManager::retry has no action
for BACKUP*, RESTORE, HOTPLUG*, DISK_*, CLEANUP*, UNKNOWN: only the *_FAILURE states and
PROLOG/BOOT/EPILOG/SHUTDOWN/SAVE/MIGRATE re-run their driver action).
"""
import os
import sys

from salt.exceptions import CommandExecutionError

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # sibling libraries import as plain modules (utils get no __utils__)
    sys.path.append(_HERE)
import ohaf_one_client  # noqa: E402  pylint: disable=wrong-import-position

HAS_PYONE = ohaf_one_client.HAS_PYONE  # pyone is imported once, by the client
pyone = ohaf_one_client.pyone if HAS_PYONE else None

_TRANSIENT_PREFIXES = ("PROLOG", "BOOT", "EPILOG", "SHUTDOWN", "SAVE_", "MIGRATE", "HOTPLUG",
                       "DISK_SNAPSHOT", "DISK_RESIZE", "CLEANUP", "BACKUP", "RESTORE")
# LCM states of oned 6.10 / 7.4 (VirtualMachine.h LcmState) missing from pyone's enum
_ONED_LCM_STATES = {69: "BACKUP", 70: "BACKUP_POWEROFF", 71: "RESTORE"}
# one.vm.recover operations (oned VirtualMachineRecover)
_RECOVER_OPS = {"failure": 0, "success": 1, "retry": 2}
# VM_STATE ACTIVE: LCM_STATE is only meaningful for ACTIVE VMs
_VM_ACTIVE = 3


def _lcm_states():
    """``{value: name}`` of every LCM state: pyone's enum, completed with oned's own."""
    states = {s.value: s.name for s in pyone.LCM_STATE} if HAS_PYONE else {}
    for value, name in _ONED_LCM_STATES.items():
        states.setdefault(value, name)
    return states


def classes():
    """``(transient, failed)``: ``{value: name}`` of the LCM states ``recover`` acts on, and
    of the *_FAILURE states (acted on only with include_failed)."""
    transient, failed = {}, {}
    if not HAS_PYONE:
        return transient, failed
    for value, name in sorted(_lcm_states().items()):
        if name.endswith("_FAILURE"):
            failed[value] = name
        elif name.startswith(_TRANSIENT_PREFIXES) or name == "UNKNOWN":
            transient[value] = name
    return transient, failed


def policies():
    """The recover policies: ``report`` (change nothing), then ``one.vm.recover``'s
    operations (failure, success, retry)."""
    return ("report",) + tuple(_RECOVER_OPS)


def _hostname(vm):
    try:
        history = vm.HISTORY_RECORDS.HISTORY
        return history[-1].HOSTNAME if history else None
    except AttributeError:
        return None


def _stuck(pool, wanted=None):
    """``(transient, failed)`` lists of ``{"id", "name", "lcm_state", "host"}`` from a
    ``one.vmpool.info`` answer: ACTIVE VMs (only ids in ``wanted`` when given) whose LCM
    state is transient / failed; the others are left out."""
    transient_states, failed_states = classes()
    names = _lcm_states()
    transient, failed = [], []
    for vm in getattr(pool, "VM", None) or []:
        if int(vm.STATE) != _VM_ACTIVE or (wanted is not None and int(vm.ID) not in wanted):
            continue
        lcm = int(vm.LCM_STATE)
        item = {"id": int(vm.ID), "name": vm.NAME, "lcm_state": names.get(lcm, f"LCM_{lcm}"),
                "host": _hostname(vm)}
        if lcm in transient_states:
            transient.append(item)
        elif lcm in failed_states:
            failed.append(item)
    return transient, failed


def summary(found, include_failed=False):
    """What ``one.transient_recovered`` reports of a ``recover_transient`` listing: the ids
    it would recover (``targets``) and ``listed``, every transient/failed VM as text."""
    targets = found["transient"] + (found["failed"] if include_failed else [])
    listed = ", ".join(f"{v['id']} ({v['name']}: {v['lcm_state']})"
                       for v in found["transient"] + found["failed"]) or "none"
    return {"targets": sorted(v["id"] for v in targets), "listed": listed}


def recover(conn, policy, vm_ids=None, include_failed=False):
    """``one.recover_transient``: one ``one.vmpool.info`` call (all users' VMs, state
    ACTIVE), then one ``one.vm.recover`` per VM acted on (none for ``report``)."""
    wanted = None if vm_ids is None else {int(i) for i in vm_ids}
    call = ohaf_one_client.call
    transient, failed = _stuck(call(conn, "vmpool.info", -2, -1, -1, _VM_ACTIVE), wanted)
    result = {"policy": policy, "transient": transient, "failed": failed,
              "recovered": [], "errors": []}
    if policy == "report":
        return result
    targets = transient + (failed if include_failed else [])
    for item in sorted(targets, key=lambda i: i["id"]):
        try:
            call(conn, "vm.recover", item["id"], _RECOVER_OPS[policy])
            result["recovered"].append(item["id"])
        except CommandExecutionError as exc:
            result["errors"].append({"id": item["id"], "error": str(exc)})
    return result
