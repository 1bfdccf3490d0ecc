"""
SBD (STONITH Block Device) execution module: read a device's SBD header and slots, and
create the header, refusing on a device that holds anything (data safety).

Parsing and the refusal decision live in ``_utils/ohaf_sbd.py``; this module runs the tools
(``sbd``, ``wipefs``, ``blkid``) through the formula's one command runner, argument lists
only, and reads the head of the device itself.

CLI Examples::

    salt 'cc01' sbd.dump /dev/disk/by-id/virtio-sbd0
    salt 'cc01' sbd.slots /dev/disk/by-id/virtio-sbd0
    salt 'cc01' sbd.create_problems /dev/disk/by-id/virtio-sbd0 5 10
    salt 'cc01' sbd.create /dev/disk/by-id/virtio-sbd0 5 10
"""
import logging
import os

import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "sbd"

# bytes of the device head that must be zero for "empty" (ohaf_sbd.HEAD_BYTES)
HEAD_BYTES = 1024 * 1024


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if salt.utils.path.which("sbd"):
        return __virtualname__
    return (False, "sbd: the sbd binary (package sbd) is not on PATH")


def _cmd(argv, ok=(0,), check=True):
    return _u("ohaf_cmd.run")(__salt__["cmd.run_all"], argv, ok=ok, check=check)


def _cached(key, loader):
    return _u("ohaf_cache.get")(__context__, "sbd", key, loader)


def _invalidate():
    _u("ohaf_cache.invalidate")(__context__, "sbd")


def _read_head(device, size):
    with open(device, "rb") as fh:
        return fh.read(size)


# ------------------------------------------------------------------------------ reads
def dump(device, refresh=False):
    """
    The SBD header of ``device`` (``sbd -d DEVICE dump``): ``{"version", "uuid", "slots",
    "sector_size", "watchdog_timeout", "allocate_timeout", "loop_timeout",
    "msgwait_timeout"}`` with integer timeouts, or None when the device has no SBD header.
    A missing device is an error.

    CLI Example: ``salt '*' sbd.dump /dev/disk/by-id/virtio-sbd0``
    """
    _exists(device)

    def load():
        res = _cmd(["sbd", "-d", device, "dump"], check=False)
        return _u("ohaf_sbd.parse_dump")(res.get("stdout"), res.get("retcode"))
    return _u("ohaf_cache.get")(__context__, "sbd", ("dump", device), load, refresh=refresh)


def slots(device):
    """
    The allocated slots of ``device`` (``sbd -d DEVICE list``): ``[{"slot", "node",
    "message", "sender"}]``; ``[]`` for a fresh header. Error when it has no header.

    CLI Example: ``salt '*' sbd.slots /dev/disk/by-id/virtio-sbd0``
    """
    _exists(device)
    res = _cmd(["sbd", "-d", device, "list"], check=False)
    if res.get("retcode") != 0:
        raise CommandExecutionError(f"sbd list on {device} failed: the device has no SBD "
                                    f"header ({_u('ohaf_cmd.error_text')(res)})")
    return _u("ohaf_sbd.parse_list")(res.get("stdout"))


def signatures(device):
    """
    Every signature ``wipefs -n -J`` and ``blkid -p`` find on ``device`` (filesystems, LVM
    PV labels, DRBD metadata, partition tables, RAID members...): ``[{"type", "offset",
    "uuid", "label"}]``, ``[]`` when none. Read-only.

    CLI Example: ``salt '*' sbd.signatures /dev/disk/by-id/virtio-sbd0``
    """
    _exists(device)

    def load():
        wf = _cmd(["wipefs", "--no-act", "--json", device])
        bk = _cmd(["blkid", "-p", "-o", "export", device], ok=(0, 2, 8))
        return _u("ohaf_sbd.dedupe_signatures")(
            _u("ohaf_sbd.parse_wipefs")(wf.get("stdout")),
            _u("ohaf_sbd.parse_blkid")(bk.get("stdout"), bk.get("retcode")))
    return _cached(("signatures", device), load)


def head_zero(device, size=None):
    """
    True when the first ``size`` bytes of ``device`` (default 1 MiB) are all zero.

    CLI Example: ``salt '*' sbd.head_zero /dev/disk/by-id/virtio-sbd0``
    """
    _exists(device)
    size = int(size or HEAD_BYTES)
    try:
        data = _read_head(device, size)
    except OSError as exc:
        raise CommandExecutionError(f"cannot read {device}: {exc}")
    return not any(data)


def _exists(device):
    if not os.path.exists(device):
        raise CommandExecutionError(f"SBD device {device} does not exist")


def create_problems(device, watchdog_timeout, msgwait_timeout, force_create=False):
    """
    Read-only check of the data-safety rule: the reasons ``sbd create`` on ``device`` must be
    refused (``[]``: the device is empty, already has this header, or ``force_create``).

    CLI Example: ``salt '*' sbd.create_problems /dev/disk/by-id/virtio-sbd0 5 10``
    """
    if force_create:
        return []
    header = dump(device)
    sigs = signatures(device)
    zero = head_zero(device) if header is None and not sigs else False
    return _u("ohaf_sbd.create_problems")(device, header, sigs, zero, False,
                                          watchdog_timeout=int(watchdog_timeout),
                                          msgwait_timeout=int(msgwait_timeout))


# ------------------------------------------------------------------------------ write
def create(device, watchdog_timeout, msgwait_timeout, force_create=False):
    """
    Write an SBD header (255 slots) with ``watchdog_timeout`` and ``msgwait_timeout``
    seconds (``sbd -d DEVICE -1 W -4 M create``). Refused when the device holds anything
    (a filesystem, LVM, DRBD metadata, a partition table, another SBD header, non-zero
    bytes) unless ``force_create=True`` (the device's pillar flag); then its signatures are
    wiped first (``wipefs --all``). Never run it while sbd watches the device.

    CLI Example: ``salt 'cc01' sbd.create /dev/disk/by-id/virtio-sbd0 5 10``
    """
    watchdog_timeout, msgwait_timeout = int(watchdog_timeout), int(msgwait_timeout)
    problems = create_problems(device, watchdog_timeout, msgwait_timeout, force_create)
    if problems:
        raise CommandExecutionError(_u("ohaf_sbd.refusal")(device, problems))
    try:
        if force_create and signatures(device):
            _cmd(["wipefs", "--all", device])
        _cmd(["sbd", "-d", device, "-1", str(watchdog_timeout), "-4", str(msgwait_timeout),
              "create"])
    finally:
        _invalidate()
    return True
