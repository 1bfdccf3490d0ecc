"""
DRBD execution module (8.4 kernel module driven by drbd-utils 9, and DRBD 9).

Salt 3008 no longer ships a ``drbd`` module; this one is the formula's own.

* ``drbdadm`` from drbd-utils 9 drives both kernel generations: when ``/proc/drbd`` says
  ``version: 8.4.x`` it re-executes ``/usr/lib/drbd/drbdadm-84`` by itself, so every
  command here is plain ``drbdadm ...``.
* Status comes from ``drbdsetup status --json`` on DRBD 9 and from ``/proc/drbd`` on 8.4
  (drbdsetup 9 has no ``--json`` against an 8.4 module). Resource names and local minors
  come from ``drbdadm dump-xml`` (``dump_config``).
* Every value comes in as an argument (salt-ssh: no pillar here).

Data-safety rules (enforced here, not only in the states):

1. ``create_md`` only when the backing device has no DRBD metadata and no
   filesystem/LVM/partition-table signature (``blkid -p``), unless the caller passes
   ``wipe_backing_device=True`` (the per-resource pillar flag of that name).
2. ``primary(force=True)`` only for the very first full sync: this node is the
   ``initial_primary``, every local disk is Inconsistent, no peer disk is UpToDate and the
   generation identifiers show no history (current UUID is the just-created one, bitmap and
   history UUIDs zero). Refused for Outdated/Diskless local disks and, when a peer is
   unknown, for any resource that has ever been connected/synced.
3. ``secondary``/``down`` never demote a device that is mounted (``/proc/mounts``), held
   (``/sys/block/drbdN/holders``, e.g. LVM) or reported open by DRBD 9.

This module reads and writes; the parsers and every decision over what it read (the three
rules included) are ``_utils/ohaf_drbd.py`` (``__utils__["ohaf_drbd.*"]``), which the
``drbd`` states call too. Commands run through ``ohaf_cmd.run``; reads a run repeats
(``dump-xml``, status, version) are cached with ``ohaf_cache`` and dropped by every write.
"""
import logging
import os
import time

import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "drbd"

PROC_DRBD = "/proc/drbd"
PROC_MOUNTS = "/proc/mounts"
SYS_BLOCK = "/sys/block"

# DRBD's UUID_JUST_CREATED: the current UUID written by create-md (ohaf_drbd decides on it).
UUID_JUST_CREATED = 0x4


def _u(name):
    fun = __utils__[name]
    return getattr(fun, "func", fun)  # the library function itself, in our loader context


def __virtual__():
    if salt.utils.path.which("drbdadm"):
        return __virtualname__
    return (False, "drbd: drbdadm (drbd-utils) is not on PATH")


# --------------------------------------------------------------------------- helpers
def _read_file(path):
    """Text of ``path`` or None when it does not exist (module not loaded...)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _realpath(path):
    return os.path.realpath(path)


def _sleep(seconds):
    time.sleep(seconds)


def _now():
    return time.monotonic()


def _cmd(argv, ok=(0,), check=True):
    """Run an argument list; raise CommandExecutionError (drbd-utils' noise dropped) when
    ``check`` and the return code is not in ``ok``."""
    res = _u("ohaf_cmd.run")(__salt__["cmd.run_all"], argv, check=False)
    if check and res.get("retcode") not in ok:
        raise CommandExecutionError(_u("ohaf_drbd.failure_text")(argv, res))
    return res


def _cached(key, loader, refresh=False):
    """``loader()`` once per run (``ohaf_cache``, namespace ``drbd``)."""
    return _u("ohaf_cache.get")(__context__, "drbd", key, loader, refresh=refresh)


def _write(argv):
    """A command that changes the node: the run's cached reads are dropped, even when it
    fails."""
    try:
        _cmd(argv)
    finally:
        _u("ohaf_cache.invalidate")(__context__, "drbd")
    return True


def _drbdadm(*args, config=None):
    argv = ["drbdadm"]
    if config:
        argv += ["-c", config]
    return argv + list(args)


def _names(node):
    """The names this node may have as an ``on`` host: ``node``, grains nodename/host/id."""
    return [n for n in (node, __grains__.get("nodename"), __grains__.get("host"),
                        __grains__.get("id")) if n]


# --------------------------------------------------------------------------- parsers
# The module's public parsers, kept for callers of ``drbd.parse_*``: ohaf_drbd's.
def parse_dump_xml(text):
    """``drbdadm dump-xml`` output (8.4 and 9) as plain dicts. Pure."""
    return _u("ohaf_drbd.parse_dump_xml")(text)


def parse_proc_drbd(text):
    """/proc/drbd (8.4): {"version": str, "minors": {minor: {...}}}. Pure."""
    return _u("ohaf_drbd.parse_proc_drbd")(text)


def parse_status_json(text):
    """``drbdsetup status --json`` (DRBD 9), normalised. Pure."""
    return _u("ohaf_drbd.parse_status_json")(text)


def parse_gi(text):
    """``get-gi`` output -> the first line's dict (``"lines"``: every line), or None. Pure."""
    return _u("ohaf_drbd.parse_gi")(text)


def gi_has_history(gi):
    """True when the generation identifiers show the data was ever promoted/synced."""
    return _u("ohaf_drbd.gi_has_history")(gi)


def parse_blkid_export(text):
    """``blkid -p -o export`` output -> dict. Pure."""
    return _u("ohaf_drbd.parse_blkid_export")(text)


def parse_mounts(text):
    """/proc/mounts -> list of (source, mountpoint, fstype). Pure."""
    return _u("ohaf_drbd.parse_mounts")(text)


def is_synced(res):
    """True when every local volume and every peer volume is UpToDate and connected."""
    return _u("ohaf_drbd.is_synced")(res)


def summarize(res):
    """One-line human summary of a normalised resource status."""
    return _u("ohaf_drbd.summarize")(res)


# --------------------------------------------------------------------------- version
def version(refresh=False):
    """
    DRBD kernel and utils versions.

    Returns ``{"kernel": "8.4.11" | None, "utils": "9.22.0", "major": "8.4" | "9" | None}``.
    The kernel version comes from the first line of ``/proc/drbd``; without it (module not
    loaded) from ``drbdadm --version`` ``DRBD_KERNEL_VERSION`` (``0`` = unknown).

    CLI Example: ``salt '*' drbd.version``
    """
    def load():
        proc = _read_file(PROC_DRBD)
        res = _cmd(["drbdadm", "--version"], check=False)
        return _u("ohaf_drbd.parse_version")(proc, res.get("stdout"))
    return _cached("version", load, refresh)


def _major():
    return version()["major"] or "9"


# --------------------------------------------------------------------------- config
def dump_config(name=None, config=None, refresh=False):
    """
    Parsed DRBD configuration (``drbdadm [-c config] dump-xml {name|all}``).

    Returns ``{"file", "global", "common": {section: {opt: value}}, "resources": {name:
    {"options", "hosts": {host: {"address", "port", "family", "node_id"?, "volumes": {vnr:
    {"device", "minor", "disk", "meta_disk", "meta_index"}}}}, "connections"}}}``.

    CLI Example: ``salt '*' drbd.dump_config one-disk``
    """
    def load():
        res = _cmd(_drbdadm("dump-xml", name or "all", config=config))
        return _u("ohaf_drbd.parse_dump_xml")(res["stdout"])
    return _cached(("config", name, config), load, refresh)


def _local_volumes(name, node=None, config=None):
    """``(resource, host, volumes, peers)`` of ``name`` on this node."""
    return _u("ohaf_drbd.local_volumes")(dump_config(name=name, config=config), name,
                                                _names(node))


# --------------------------------------------------------------------------- status
def _status_9(name=None):
    res = _cmd(["drbdsetup", "status", "--json", name or "all"], ok=(0, 10) if name else (0,))
    if res["retcode"] == 10:
        return {}  # no such resource: not up
    out = _u("ohaf_drbd.parse_status_json")(res["stdout"])
    return {k: v for k, v in out.items() if not name or k == name}


def status(name=None, node=None, config=None, refresh=False):
    """
    Runtime state per resource that is up on this node.

    Returns ``{name: {"name", "role", "volumes": {vnr: {"minor", "device", "disk"}},
    "peers": {peer: {"connection", "role", "volumes": {vnr: {"disk", "replication",
    "sync_percent", "out_of_sync_kib"}}}}}}``. A resource that is not up is absent.
    On 8.4 the connection is ``Connected`` for every connected cs (the raw one is in
    ``cstate``: SyncSource...), replication is ``Established``/``SyncSource``/...

    CLI Example: ``salt '*' drbd.status one-disk``
    """
    def load():
        if _major() == "8.4":
            proc = _read_file(PROC_DRBD) or ""
            return _u("ohaf_drbd.status_84")(
                proc, dump_config(config=config, refresh=refresh), _names(node), name)
        return _status_9(name)
    return _cached(("status", name, node, config), load, refresh)


def _one(name, node=None, config=None, refresh=True):
    return status(name, node=node, config=config, refresh=refresh).get(name)


# --------------------------------------------------------------------------- metadata
def get_gi(name, config=None):
    """Generation identifiers of ``name`` (``drbdadm get-gi``); None without metadata."""
    argv = _drbdadm("get-gi", name, config=config)
    return _u("ohaf_drbd.gi_of_result")(argv, _cmd(argv, check=False))


def has_metadata(name, config=None):
    """
    True when the resource's backing/meta device carries valid DRBD metadata
    (``drbdadm get-gi`` succeeds; it reads the disk through drbdmeta when not attached).

    CLI Example: ``salt '*' drbd.has_metadata one-disk``
    """
    return get_gi(name, config=config) is not None


def signatures(device):
    """
    Low-level signatures on ``device`` (``blkid -p -o export``): ``[]`` when blank, else a
    list with one dict (TYPE, USAGE, UUID, LABEL, PTTYPE...). ``ambivalent`` results
    (several signatures, blkid rc 8) are reported as ``[{"TYPE": "ambivalent"}]``.
    """
    res = _cmd(["blkid", "-p", "-o", "export", device], ok=(0, 2, 8))
    return _u("ohaf_drbd.signatures_of_result")(device, res)


def create_md_problems(name, wipe_backing_device=False, node=None, config=None):
    """
    Read-only check of data-safety rule 1. Returns a list of reasons create-md must be
    refused (empty = safe). With ``wipe_backing_device=True`` nothing is refused.
    """
    if wipe_backing_device:
        return []
    has_md = has_metadata(name, config=config)
    _, _, volumes, _ = _local_volumes(name, node=node, config=config)
    checks = [(vnr, role, dev, signatures(dev))
              for vnr, role, dev in _u("ohaf_drbd.md_devices")(volumes)]
    return _u("ohaf_drbd.create_md_problems")(name, has_md, checks)


def create_md(name, wipe_backing_device=False, node=None, config=None):
    """
    Create DRBD metadata (``drbdadm create-md --force NAME``) -- data-safety rule 1.

    Refused when the backing device already has DRBD metadata or any filesystem, LVM or
    partition-table signature, unless ``wipe_backing_device=True`` (pillar flag of that
    name, per resource), in which case the signatures are first erased with
    ``wipefs --all`` and the metadata is (re)created.

    CLI Example: ``salt 'cloud-cc01' drbd.create_md one-disk``
    """
    problems = create_md_problems(name, wipe_backing_device, node=node, config=config)
    if problems:
        raise CommandExecutionError(_u("ohaf_drbd.refusal")("create-md", name, problems))
    if wipe_backing_device:
        _, _, volumes, _ = _local_volumes(name, node=node, config=config)
        for vol in volumes.values():
            if vol.get("disk") and signatures(vol["disk"]):
                _write(["wipefs", "--all", vol["disk"]])
    return _write(_drbdadm("create-md", "--force", name, config=config))


# --------------------------------------------------------------------------- roles
def primary_problems(name, initial_primary=None, node=None, config=None):
    """
    Read-only check of data-safety rule 2 (forced promotion). Returns a list of reasons
    (empty = this is the allowed initial full sync).
    """
    res = _one(name, node=node, config=config)
    gi = get_gi(name, config=config) if res is not None else None
    return _u("ohaf_drbd.primary_problems")(name, res, gi, node or __grains__.get("id"),
                                                   initial_primary)


def primary(name, force=False, initial_primary=None, node=None, config=None):
    """
    Promote ``name`` to Primary.

    ``force=True`` is the initial-full-sync promotion (data-safety rule 2):
    ``drbdadm -- --overwrite-data-of-peer primary NAME`` on 8.4,
    ``drbdadm primary --force NAME`` on 9. It is refused unless ``initial_primary`` equals
    this node (``node`` or grain ``id``), every local disk is Inconsistent, no peer disk is
    UpToDate and ``get-gi`` shows no history.

    CLI Example: ``salt 'cloud-cc01' drbd.primary one-disk force=True initial_primary=cloud-cc01``
    """
    if not force:
        return _write(_drbdadm("primary", name, config=config))
    problems = primary_problems(name, initial_primary=initial_primary, node=node, config=config)
    if problems:
        raise CommandExecutionError(_u("ohaf_drbd.refusal")("primary", name, problems))
    if _major() == "8.4":
        return _write(_drbdadm("--", "--overwrite-data-of-peer", "primary", name, config=config))
    return _write(_drbdadm("primary", "--force", name, config=config))


def users(name, node=None, config=None):
    """
    What holds the local DRBD devices of ``name``: a list of strings naming mounts
    ("/dev/drbd1 mounted on /srv/cloud/one (ext4)"), holders ("/dev/drbd2 held by dm-3
    (one--data-lv1)") and DRBD 9 open counts. Empty list = nothing holds it.
    """
    res = _one(name, node=node, config=config)
    volumes = dict(res["volumes"]) if res else {}
    if not volumes:
        volumes = _local_volumes(name, node=node, config=config)[2]
    devices = _u("ohaf_drbd.volume_devices")(name, volumes)
    mounts = [(src, mnt, fstype, _realpath(src)) for src, mnt, fstype
              in _u("ohaf_drbd.parse_mounts")(_read_file(PROC_MOUNTS))
              if src.startswith("/dev/")]
    holders = {}
    for d in devices:
        if d["minor"] is not None:
            holders[d["minor"]] = [
                (h, (_read_file("{}/{}/dm/name".format(SYS_BLOCK, h)) or "").strip())
                for h in _listdir("{}/drbd{}/holders".format(SYS_BLOCK, d["minor"]))]
    return _u("ohaf_drbd.users")(devices, mounts, holders)


def _refuse_if_used(action, name, node, config):
    held = users(name, node=node, config=config)
    if held:
        raise CommandExecutionError(_u("ohaf_drbd.refusal")(action, name, held))


def secondary(name, node=None, config=None):
    """
    Demote ``name`` to Secondary -- data-safety rule 3: refused while any local device of
    the resource is mounted, held (LVM/dm holders) or open; the error names the holder.

    CLI Example: ``salt 'cloud-cc01' drbd.secondary one-disk``
    """
    _refuse_if_used("secondary", name, node, config)
    return _write(_drbdadm("secondary", name, config=config))


# --------------------------------------------------------------------------- lifecycle
def up(name, config=None):
    """``drbdadm up NAME`` (attach + connect). CLI Example: ``salt '*' drbd.up one-disk``"""
    return _write(_drbdadm("up", name, config=config))


def down(name, node=None, config=None):
    """``drbdadm down NAME``; refused like ``secondary`` while the device is in use."""
    _refuse_if_used("down", name, node, config)
    return _write(_drbdadm("down", name, config=config))


def adjust_pending(name, config=None):
    """Commands ``drbdadm adjust`` would run (``drbdadm -d adjust``); [] = in sync."""
    res = _cmd(_drbdadm("-d", "adjust", name, config=config))
    return [ln.strip() for ln in res["stdout"].splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def adjust(name, config=None):
    """``drbdadm adjust NAME``: apply config changes to a running resource."""
    return _write(_drbdadm("adjust", name, config=config))


def wait_synced(name, timeout=300, interval=2, node=None, config=None):
    """
    Wait (bounded by ``timeout`` seconds) until every volume of ``name`` is UpToDate on
    this node and on every peer. Returns the final status; raises CommandExecutionError
    on timeout (with the last sync percentage) or when the resource is StandAlone/not up.

    CLI Example: ``salt 'cloud-cc01' drbd.wait_synced one-disk timeout=600``
    """
    deadline = _now() + float(timeout)
    while True:
        res = _one(name, node=node, config=config)
        if res is None:
            raise CommandExecutionError("resource {} is not up".format(name))
        if is_synced(res):
            return res
        for pname, peer in res["peers"].items():
            if peer["connection"] == "StandAlone":
                raise CommandExecutionError(
                    "resource {}: connection to {} is StandAlone; it will not sync without "
                    "administrator action (drbdadm connect)".format(name, pname))
        if _now() >= deadline:
            raise CommandExecutionError("resource {} not synced after {}s: {}".format(
                name, timeout, summarize(res)))
        _sleep(interval)


# ------------------------------------------------------------- device guards (storage SLS)
# Read-only checks the drbd_aoe_lvm SLS guards its mkfs/pvcreate/vgcreate with (onlyif
# function requisites: every value an argument, every command an argument list).
def role_is_primary(name, config=None):
    """True when ``drbdadm role <name>`` says this node is Primary (8.4 prints
    ``Primary/Secondary``, 9 ``Primary``); False when it is Secondary or not up (drbdadm
    fails: the secondary cannot even open the device).

    CLI Example: ``salt '*' drbd.role_is_primary one-disk``
    """
    res = _cmd(_drbdadm("role", name, config=config), check=False)
    if res.get("retcode") != 0:
        return False
    return (res.get("stdout") or "").lstrip().startswith("Primary")


def _open_read(device, size):
    with open(device, "rb") as fh:
        return fh.read(size)


def readable(device):
    """True when one 4 KiB block of ``device`` reads (what ``dd count=1 bs=4096`` checks:
    a Secondary DRBD device cannot be opened).

    CLI Example: ``salt '*' drbd.readable /dev/drbd1``
    """
    try:
        _open_read(device, 4096)
    except OSError:
        return False
    return True


def blank(device):
    """True when ``blkid -p`` finds no signature at all on ``device`` (exit 2); an ambivalent
    result (exit 8) counts as data.

    CLI Example: ``salt '*' drbd.blank /dev/drbd1``
    """
    return signatures(device) == []


def _pv_vg(device):
    """VG name of the PV ``device`` ("" for a PV in no VG), None when ``pvs`` fails."""
    res = _cmd(["pvs", "--noheadings", "-o", "vg_name", device], check=False)
    if res.get("retcode") != 0:
        return None
    return " ".join((res.get("stdout") or "").split())


def holds_foreign_data(device, vg):
    """True when ``device`` carries anything but an LVM PV that is in no VG or in ``vg``
    (another VG, a filesystem, a partition table, ambivalent signatures, a PV ``pvs`` cannot
    read). False for a blank device.

    CLI Example: ``salt '*' drbd.holds_foreign_data /dev/drbd2 vg-one``
    """
    sig_type = _u("ohaf_drbd.sig_type")(signatures(device))
    if sig_type is None:
        return False
    if sig_type != "LVM2_member":
        return True
    in_vg = _pv_vg(device)
    return in_vg is None or in_vg not in ("", str(vg))


def is_unused_pv(device):
    """True when ``device`` is an LVM PV that belongs to no VG (a run stopped after
    pvcreate).

    CLI Example: ``salt '*' drbd.is_unused_pv /dev/drbd2``
    """
    return (_u("ohaf_drbd.sig_type")(signatures(device)) == "LVM2_member"
            and _pv_vg(device) == "")
