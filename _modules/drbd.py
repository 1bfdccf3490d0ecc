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
"""
import logging
import os
import re
import time
import xml.etree.ElementTree as ET

import salt.utils.json
import salt.utils.path
from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "drbd"

PROC_DRBD = "/proc/drbd"
PROC_MOUNTS = "/proc/mounts"
SYS_BLOCK = "/sys/block"

# DRBD's UUID_JUST_CREATED: the current UUID written by create-md, before any promotion.
UUID_JUST_CREATED = 0x4

# 8.4 connection states that mean "connected" (enum order drbd_conns >= C_CONNECTED).
_CONNECTED_84 = {
    "Connected", "StartingSyncS", "StartingSyncT", "WFBitMapS", "WFBitMapT", "WFSyncUUID",
    "SyncSource", "SyncTarget", "VerifyS", "VerifyT", "PausedSyncS", "PausedSyncT",
    "Ahead", "Behind",
}
_SYNCING = {"SyncSource", "SyncTarget", "PausedSyncS", "PausedSyncT",
            "StartingSyncS", "StartingSyncT", "WFBitMapS", "WFBitMapT", "WFSyncUUID"}

_CTX_STATUS = "drbd.status"
_CTX_CONFIG = "drbd.config"
_CTX_VERSION = "drbd.version"


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


def _run(argv, ok_retcodes=(0,)):
    """Run an argv list; return the cmd.run_all dict or raise CommandExecutionError."""
    res = __salt__["cmd.run_all"](argv, python_shell=False, ignore_retcode=True)
    if res.get("retcode") not in ok_retcodes:
        err = _clean_stderr(res.get("stderr", "")) or res.get("stdout", "").strip()
        raise CommandExecutionError(
            "{} failed (rc={}): {}".format(" ".join(argv), res.get("retcode"), err or "no output")
        )
    return res


def _clean_stderr(text):
    """drop drbd-utils noise that is not an error (modinfo probe, __DRBD_NODE__ banner)."""
    keep = []
    for line in (text or "").splitlines():
        s = line.strip()
        if not s or "modinfo: not found" in s or "__DRBD_NODE__" in s or "PRETENDING" in s:
            continue
        keep.append(s)
    return "\n".join(keep)


def _drbdadm(*args, config=None):
    argv = ["drbdadm"]
    if config:
        argv += ["-c", config]
    return argv + list(args)


def _invalidate():
    for key in (_CTX_STATUS,):
        __context__.pop(key, None)


# --------------------------------------------------------------------------- version
def version(refresh=False):
    """
    DRBD kernel and utils versions.

    Returns ``{"kernel": "8.4.11" | None, "utils": "9.22.0", "major": "8.4" | "9" | None}``.
    The kernel version comes from the first line of ``/proc/drbd``; without it (module not
    loaded) from ``drbdadm --version`` ``DRBD_KERNEL_VERSION`` (``0`` = unknown).

    CLI Example: ``salt '*' drbd.version``
    """
    if not refresh and _CTX_VERSION in __context__:
        return __context__[_CTX_VERSION]
    kernel = None
    proc = _read_file(PROC_DRBD)
    if proc:
        m = re.match(r"\s*version:\s*(\d+\.\d+\.\d+)", proc)
        if m:
            kernel = m.group(1)
    res = __salt__["cmd.run_all"](["drbdadm", "--version"], python_shell=False,
                                  ignore_retcode=True)
    fields = {}
    for line in res.get("stdout", "").splitlines():
        if "=" in line:
            key, _, val = line.partition("=")
            fields[key.strip()] = val.strip()
    if kernel is None:
        kv = fields.get("DRBD_KERNEL_VERSION", "0")
        if kv and kv != "0":
            kernel = kv
    major = None
    if kernel:
        major = "8.4" if kernel.startswith("8.") else kernel.split(".")[0]
    ret = {"kernel": kernel, "utils": fields.get("DRBDADM_VERSION"), "major": major}
    __context__[_CTX_VERSION] = ret
    return ret


def _major():
    return version()["major"] or "9"


# --------------------------------------------------------------------------- config
def _opt_sections(elem):
    out = {}
    for sec in elem.findall("section"):
        opts = out.setdefault(sec.get("name"), {})
        for opt in sec.findall("option"):
            opts[opt.get("name")] = opt.get("value", True)
    return out


def _parse_volume(vol):
    d = {}
    dev = vol.find("device")
    if dev is not None:
        d["device"] = (dev.text or "").strip() or None
        if dev.get("minor") is not None:
            d["minor"] = int(dev.get("minor"))
    disk = vol.find("disk")
    if disk is not None:
        d["disk"] = (disk.text or "").strip() or None
    md = vol.find("meta-disk")
    if md is not None:
        d["meta_disk"] = (md.text or "").strip()
        d["meta_index"] = int(md.get("index")) if md.get("index") is not None else None
    return d


def _parse_address(elem):
    if elem is None:
        return {}
    port = elem.get("port")
    return {
        "address": (elem.text or "").strip(),
        "port": int(port) if port else None,
        "family": elem.get("family"),
    }


def parse_dump_xml(text):
    """Parse ``drbdadm dump-xml`` output (8.4 and 9) into plain dicts. Pure function."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise CommandExecutionError("cannot parse drbdadm dump-xml output: {}".format(exc))
    if root.tag == "resource":
        # `drbdadm dump-xml NAME` prints the bare <resource> element, no <config> wrapper
        wrapper = ET.Element("config")
        wrapper.append(root)
        root = wrapper
    ret = {"file": root.get("file"), "global": {}, "common": {}, "resources": {}}
    glob = root.find("global")
    if glob is not None:
        for child in glob:
            ret["global"][child.tag] = child.get("value", True)
    common = root.find("common")
    if common is not None:
        ret["common"] = _opt_sections(common)
    for res in root.findall("resource"):
        name = res.get("name")
        rdict = {"name": name, "options": _opt_sections(res), "hosts": {}, "connections": []}
        for host in res.findall("host"):
            hd = {"volumes": {}}
            node_id = host.find("node-id")
            if node_id is not None:
                hd["node_id"] = int(node_id.text)
            hd.update(_parse_address(host.find("address")))
            for vol in host.findall("volume"):
                hd["volumes"][int(vol.get("vnr", 0))] = _parse_volume(vol)
            rdict["hosts"][host.get("name")] = hd
        for conn in res.findall("connection"):
            rdict["connections"].append(
                {h.get("name"): _parse_address(h.find("address")) for h in conn.findall("host")}
            )
        ret["resources"][name] = rdict
    return ret


def dump_config(name=None, config=None, refresh=False):
    """
    Parsed DRBD configuration (``drbdadm [-c config] dump-xml {name|all}``).

    Returns ``{"file", "global", "common": {section: {opt: value}}, "resources": {name:
    {"options", "hosts": {host: {"address", "port", "family", "node_id"?, "volumes": {vnr:
    {"device", "minor", "disk", "meta_disk", "meta_index"}}}}, "connections"}}}``.

    CLI Example: ``salt '*' drbd.dump_config one-disk``
    """
    key = (name, config)
    cache = __context__.setdefault(_CTX_CONFIG, {})
    if not refresh and key in cache:
        return cache[key]
    res = _run(_drbdadm("dump-xml", name or "all", config=config))
    parsed = parse_dump_xml(res["stdout"])
    cache[key] = parsed
    return parsed


def _local_host(rconf, node=None):
    """The host section of a resource that describes this node."""
    hosts = rconf["hosts"]
    names = [n for n in (node, __grains__.get("nodename"), __grains__.get("host"),
                         __grains__.get("id")) if n]
    for n in names:
        if n in hosts:
            return n, hosts[n]
    raise CommandExecutionError(
        "resource {}: none of {} is an 'on' host in the DRBD config (hosts: {})".format(
            rconf["name"], names, sorted(hosts)))


def _local_volumes(name, node=None, config=None):
    conf = dump_config(name=name, config=config)
    if name not in conf["resources"]:
        raise CommandExecutionError("resource {} is not in the DRBD config".format(name))
    rconf = conf["resources"][name]
    host, hdict = _local_host(rconf, node)
    peers = [h for h in rconf["hosts"] if h != host]
    return rconf, host, hdict["volumes"], peers


# --------------------------------------------------------------------------- status
def parse_proc_drbd(text):
    """Parse /proc/drbd (8.4). Returns {"version": str, "minors": {minor: {...}}}. Pure."""
    ret = {"version": None, "minors": {}}
    cur = None
    for line in (text or "").splitlines():
        m = re.match(r"\s*version:\s*(\S+)", line)
        if m:
            ret["version"] = m.group(1)
            continue
        m = re.match(r"\s*(\d+):\s+cs:(\S+)(.*)$", line)
        if m:
            minor = int(m.group(1))
            rest = m.group(3)
            cur = {"cs": m.group(2)}
            for key, fld in (("ro", "ro"), ("ds", "ds")):
                mm = re.search(r"\b" + fld + r":(\S+)/(\S+)", rest)
                if mm:
                    cur[key] = (mm.group(1), mm.group(2))
            mm = re.search(r"ds:\S+\s+([ABC])\s", rest + " ")
            cur["protocol"] = mm.group(1) if mm else None
            ret["minors"][minor] = cur
            continue
        if cur is None:
            continue
        mm = re.search(r"sync'ed:\s*([\d.]+)%", line)
        if mm:
            cur["sync_percent"] = float(mm.group(1))
        mm = re.search(r"\boos:(\d+)", line)
        if mm:
            cur["oos"] = int(mm.group(1))
    return ret


def _status_84(name=None, node=None, config=None, refresh=False):
    proc = parse_proc_drbd(_read_file(PROC_DRBD) or "")
    conf = dump_config(config=config, refresh=refresh)
    out = {}
    for rname, rconf in conf["resources"].items():
        if name and rname != name:
            continue
        try:
            host, hdict = _local_host(rconf, node)
        except CommandExecutionError:
            continue
        peers = [h for h in rconf["hosts"] if h != host]
        peer_name = peers[0] if len(peers) == 1 else "peer"
        res = {"name": rname, "role": None, "volumes": {}, "peers": {}}
        conn = {"name": peer_name, "connection": None, "role": None, "volumes": {}}
        up = False
        for vnr, vol in sorted(hdict["volumes"].items()):
            minor = vol.get("minor")
            st = proc["minors"].get(minor)
            if not st or st["cs"] == "Unconfigured":
                continue
            up = True
            ro = st.get("ro", (None, None))
            ds = st.get("ds", (None, None))
            cs = st["cs"]
            res["role"] = ro[0]
            res["volumes"][vnr] = {"minor": minor, "device": vol.get("device"), "disk": ds[0]}
            connected = cs in _CONNECTED_84
            conn["connection"] = "Connected" if connected else cs
            conn["cstate"] = cs
            conn["role"] = ro[1]
            if not connected:
                repl = "Off"
            elif cs == "Connected":
                repl = "Established"
            else:
                repl = cs
            pct = st.get("sync_percent")
            if pct is None:
                if ds[0] == "UpToDate" and ds[1] == "UpToDate":
                    pct = 100.0
                elif connected and st.get("oos") == 0 and repl == "Established":
                    pct = 100.0
            conn["volumes"][vnr] = {"disk": ds[1], "replication": repl, "sync_percent": pct,
                                    "out_of_sync_kib": st.get("oos")}
        if not up:
            continue
        res["peers"][peer_name] = conn
        out[rname] = res
    return out


def parse_status_json(text):
    """Normalise ``drbdsetup status --json`` (DRBD 9) output. Pure function."""
    try:
        data = salt.utils.json.loads(text) if text.strip() else []
    except ValueError as exc:
        raise CommandExecutionError("cannot parse drbdsetup status --json: {}".format(exc))
    out = {}
    for r in data:
        res = {"name": r["name"], "role": r.get("role"), "node_id": r.get("node-id"),
               "volumes": {}, "peers": {}}
        for d in r.get("devices", []):
            res["volumes"][d["volume"]] = {
                "minor": d.get("minor"), "device": "/dev/drbd{}".format(d.get("minor")),
                "disk": d.get("disk-state"), "open": d.get("open"), "quorum": d.get("quorum"),
            }
        for c in r.get("connections", []):
            conn = {"name": c.get("name"), "connection": c.get("connection-state"),
                    "role": c.get("peer-role"), "node_id": c.get("peer-node-id"),
                    "volumes": {}}
            for pd in c.get("peer_devices", []):
                pct = pd.get("percent-resync-done", pd.get("percent-in-sync"))
                conn["volumes"][pd["volume"]] = {
                    "disk": pd.get("peer-disk-state"),
                    "replication": pd.get("replication-state"),
                    "sync_percent": float(pct) if pct is not None else None,
                    "out_of_sync_kib": pd.get("out-of-sync"),
                }
            res["peers"][conn["name"]] = conn
        out[r["name"]] = res
    return out


def _status_9(name=None):
    res = __salt__["cmd.run_all"](["drbdsetup", "status", "--json", name or "all"],
                                  python_shell=False, ignore_retcode=True)
    if res["retcode"] == 10 and name:
        # 10: no such resource (not up)
        return {}
    if res["retcode"] != 0:
        raise CommandExecutionError("drbdsetup status --json failed (rc={}): {}".format(
            res["retcode"], _clean_stderr(res.get("stderr"))))
    return parse_status_json(res["stdout"])


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
    key = (name, node, config)
    cache = __context__.setdefault(_CTX_STATUS, {})
    if not refresh and key in cache:
        return cache[key]
    if _major() == "8.4":
        out = _status_84(name, node=node, config=config, refresh=refresh)
    else:
        out = _status_9(name)
        if name:
            out = {k: v for k, v in out.items() if k == name}
    cache[key] = out
    return out


def _one(name, node=None, config=None, refresh=True):
    return status(name, node=node, config=config, refresh=refresh).get(name)


def is_synced(res):
    """True when every local volume and every peer volume is UpToDate and connected."""
    if not res or not res["volumes"] or not res["peers"]:
        return False
    if any(v["disk"] != "UpToDate" for v in res["volumes"].values()):
        return False
    for peer in res["peers"].values():
        if peer["connection"] != "Connected":
            return False
        for v in peer["volumes"].values():
            if v["disk"] not in ("UpToDate", "Diskless") or v["replication"] != "Established":
                return False
    return True


# --------------------------------------------------------------------------- metadata
_GI_RE = re.compile(r"([0-9A-Fa-f]{16}):([0-9A-Fa-f]{16}):([0-9A-Fa-f]{16}):"
                    r"([0-9A-Fa-f]{16})((?::\d+)*)")


def parse_gi(text):
    """
    Parse ``get-gi`` output ``CURRENT:BITMAP:HIST1:HIST2:flags...`` (v08 and v09; DRBD 9
    prints one line per peer device). Returns the first line's dict with ``"lines"``
    holding every line, or None. Pure function.
    """
    lines = []
    for line in (text or "").splitlines():
        m = _GI_RE.search(line)
        if m:
            lines.append({
                "current": int(m.group(1), 16), "bitmap": int(m.group(2), 16),
                "history": [int(m.group(3), 16), int(m.group(4), 16)],
                "flags": [int(x) for x in m.group(5).split(":") if x != ""],
                "raw": m.group(0),
            })
    if not lines:
        return None
    first = dict(lines[0])
    first["lines"] = lines
    return first


def gi_has_history(gi):
    """True when the generation identifiers show the data was ever promoted/synced:
    a current UUID other than the just-created one (0x4, primary bit ignored) or any
    non-zero bitmap/history UUID."""
    if gi is None:
        return False
    for line in gi.get("lines", [gi]):
        current = line["current"] & ~1  # lowest bit is the 'primary' flag
        if current not in (0, UUID_JUST_CREATED) or line["bitmap"] or any(line["history"]):
            return True
    return False


def get_gi(name, config=None):
    """Generation identifiers of ``name`` (``drbdadm get-gi``); None without metadata."""
    res = __salt__["cmd.run_all"](_drbdadm("get-gi", name, config=config),
                                  python_shell=False, ignore_retcode=True)
    if res["retcode"] == 0:
        gi = parse_gi(res["stdout"])
        if gi is None:
            raise CommandExecutionError("unexpected drbdadm get-gi output: {!r}".format(
                res["stdout"][:200]))
        return gi
    err = _clean_stderr(res.get("stderr"))
    if res["retcode"] == 1 and "open(" not in err:
        # drbdmeta: "No valid meta data found"
        return None
    raise CommandExecutionError("drbdadm get-gi {} failed (rc={}): {}".format(
        name, res["retcode"], err or res.get("stdout", "").strip()))


def has_metadata(name, config=None):
    """
    True when the resource's backing/meta device carries valid DRBD metadata
    (``drbdadm get-gi`` succeeds; it reads the disk through drbdmeta when not attached).

    CLI Example: ``salt '*' drbd.has_metadata one-disk``
    """
    return get_gi(name, config=config) is not None


def parse_blkid_export(text):
    """``blkid -p -o export`` output -> dict. Pure."""
    out = {}
    for line in (text or "").splitlines():
        if "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip().replace("\\ ", " ")
    return out


def signatures(device):
    """
    Low-level signatures on ``device`` (``blkid -p -o export``): ``[]`` when blank, else a
    list with one dict (TYPE, USAGE, UUID, LABEL, PTTYPE...). ``ambivalent`` results
    (several signatures, blkid rc 8) are reported as ``[{"TYPE": "ambivalent"}]``.
    """
    res = __salt__["cmd.run_all"](["blkid", "-p", "-o", "export", device],
                                  python_shell=False, ignore_retcode=True)
    if res["retcode"] == 2:
        return []
    if res["retcode"] == 8:
        return [{"TYPE": "ambivalent", "DEVNAME": device}]
    if res["retcode"] != 0:
        raise CommandExecutionError("blkid -p {} failed (rc={}): {}".format(
            device, res["retcode"], res.get("stderr", "").strip()))
    return [parse_blkid_export(res["stdout"])]


def _describe_sig(sig):
    what = sig.get("TYPE") or ("partition table " + sig["PTTYPE"] if sig.get("PTTYPE")
                               else "unknown signature")
    extra = ", ".join("{}={}".format(k, sig[k]) for k in ("LABEL", "UUID") if sig.get(k))
    return what + (" ({})".format(extra) if extra else "")


def create_md_problems(name, wipe_backing_device=False, node=None, config=None):
    """
    Read-only check of data-safety rule 1. Returns a list of reasons create-md must be
    refused (empty = safe). With ``wipe_backing_device=True`` nothing is refused.
    """
    if wipe_backing_device:
        return []
    problems = []
    if has_metadata(name, config=config):
        problems.append("resource {} already has DRBD metadata (drbdadm get-gi succeeds); "
                        "create-md would reset its generation identifiers".format(name))
    _, _, volumes, _ = _local_volumes(name, node=node, config=config)
    for vnr, vol in sorted(volumes.items()):
        devices = [("backing device", vol.get("disk"))]
        md = vol.get("meta_disk")
        if md and md != "internal" and md != vol.get("disk"):
            devices.append(("meta-disk", md))
        for role, dev in devices:
            if not dev or dev == "none":
                continue
            for sig in signatures(dev):
                if sig.get("TYPE") == "drbd":
                    continue  # DRBD metadata itself: handled by has_metadata
                problems.append("{} {} of resource {} volume {} carries {}".format(
                    role, dev, name, vnr, _describe_sig(sig)))
    return problems


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
        raise CommandExecutionError(
            "refusing drbdadm create-md {}: {}. Set wipe_backing_device: True for this "
            "resource only if its data may be destroyed.".format(name, "; ".join(problems)))
    if wipe_backing_device:
        _, _, volumes, _ = _local_volumes(name, node=node, config=config)
        for vol in volumes.values():
            if vol.get("disk") and signatures(vol["disk"]):
                _run(["wipefs", "--all", vol["disk"]])
    _run(_drbdadm("create-md", "--force", name, config=config))
    _invalidate()
    return True


# --------------------------------------------------------------------------- roles
def primary_problems(name, initial_primary=None, node=None, config=None):
    """
    Read-only check of data-safety rule 2 (forced promotion). Returns a list of reasons
    (empty = this is the allowed initial full sync).
    """
    me = node or __grains__.get("id")
    problems = []
    if not initial_primary:
        problems.append("forced promotion needs initial_primary=<minion id> naming this "
                        "node ({})".format(me))
    elif initial_primary != me:
        problems.append("this node is {}, but initial_primary is {}".format(
            me, initial_primary))
    res = _one(name, node=node, config=config)
    if res is None:
        problems.append("resource {} is not up".format(name))
        return problems
    for vnr, vol in sorted(res["volumes"].items()):
        if vol["disk"] in ("Outdated", "Diskless", "Failed", "Attaching", "Negotiating",
                           "Consistent", "DUnknown"):
            problems.append("local disk of volume {} is {}: forcing would promote stale or "
                            "absent data".format(vnr, vol["disk"]))
        elif vol["disk"] == "UpToDate":
            problems.append("local disk of volume {} is already UpToDate: no forced "
                            "promotion needed".format(vnr))
    peer_unknown = not res["peers"]
    for pname, peer in sorted(res["peers"].items()):
        if peer["connection"] != "Connected":
            peer_unknown = True
        for vnr, pv in sorted(peer["volumes"].items()):
            if pv["disk"] == "UpToDate":
                problems.append("peer {} volume {} is UpToDate: forcing would overwrite good "
                                "data on the peer".format(pname, vnr))
            elif pv["disk"] in ("DUnknown", None):
                peer_unknown = True
            elif pv["disk"] in ("Outdated", "Consistent"):
                problems.append("peer {} volume {} is {}: it holds data from an earlier "
                                "sync".format(pname, vnr, pv["disk"]))
    gi = get_gi(name, config=config)
    if gi_has_history(gi):
        problems.append("generation identifiers show history ({}): resource {} has been "
                        "promoted or synced before".format(gi["raw"], name))
        if peer_unknown:
            problems.append("peer state is unknown (not Connected / DUnknown) and the "
                            "resource has been connected before")
    return problems


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
    if force:
        problems = primary_problems(name, initial_primary=initial_primary, node=node,
                                    config=config)
        if problems:
            raise CommandExecutionError(
                "refusing forced promotion of {}: {}".format(name, "; ".join(problems)))
        if _major() == "8.4":
            argv = _drbdadm("--", "--overwrite-data-of-peer", "primary", name, config=config)
        else:
            argv = _drbdadm("primary", "--force", name, config=config)
    else:
        argv = _drbdadm("primary", name, config=config)
    _run(argv)
    _invalidate()
    return True


def parse_mounts(text):
    """/proc/mounts -> list of (source, mountpoint, fstype). Pure."""
    out = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 3:
            src = parts[0].replace("\\040", " ")
            out.append((src, parts[1].replace("\\040", " "), parts[2]))
    return out


def users(name, node=None, config=None):
    """
    What holds the local DRBD devices of ``name``: a list of strings naming mounts
    ("/dev/drbd1 mounted on /srv/cloud/one (ext4)"), holders ("/dev/drbd2 held by dm-3
    (one--data-lv1)") and DRBD 9 open counts. Empty list = nothing holds it.
    """
    res = _one(name, node=node, config=config)
    volumes = {}
    if res:
        for vnr, vol in res["volumes"].items():
            volumes[vnr] = dict(vol)
    if not volumes:
        _, _, confvols, _ = _local_volumes(name, node=node, config=config)
        volumes = {vnr: dict(v) for vnr, v in confvols.items()}
    mounts = parse_mounts(_read_file(PROC_MOUNTS))
    found = []
    for vnr, vol in sorted(volumes.items()):
        minor = vol.get("minor")
        dev = vol.get("device") or ("/dev/drbd{}".format(minor) if minor is not None else None)
        if minor is None and dev:
            m = re.match(r"/dev/drbd(\d+)$", dev)
            minor = int(m.group(1)) if m else None
        kdev = "/dev/drbd{}".format(minor) if minor is not None else dev
        aliases = {kdev, dev, "/dev/drbd/by-res/{}/{}".format(name, vnr)}
        if len(volumes) == 1:
            aliases.add("/dev/drbd/by-res/{}".format(name))
        for src, mnt, fstype in mounts:
            if not src.startswith("/dev/"):
                continue
            if src in aliases or _realpath(src) == kdev:
                found.append("{} mounted on {} ({})".format(src, mnt, fstype))
        if minor is not None:
            for holder in _listdir("{}/drbd{}/holders".format(SYS_BLOCK, minor)):
                dmname = (_read_file("{}/{}/dm/name".format(SYS_BLOCK, holder)) or "").strip()
                found.append("{} held by {}{}".format(
                    kdev, holder, " ({})".format(dmname) if dmname else ""))
        if vol.get("open"):
            found.append("{} is open (drbdsetup status reports open: true)".format(kdev))
    return found


def secondary(name, node=None, config=None):
    """
    Demote ``name`` to Secondary -- data-safety rule 3: refused while any local device of
    the resource is mounted, held (LVM/dm holders) or open; the error names the holder.

    CLI Example: ``salt 'cloud-cc01' drbd.secondary one-disk``
    """
    held = users(name, node=node, config=config)
    if held:
        raise CommandExecutionError("refusing to demote {}: {}".format(name, "; ".join(held)))
    _run(_drbdadm("secondary", name, config=config))
    _invalidate()
    return True


# --------------------------------------------------------------------------- lifecycle
def up(name, config=None):
    """``drbdadm up NAME`` (attach + connect). CLI Example: ``salt '*' drbd.up one-disk``"""
    _run(_drbdadm("up", name, config=config))
    _invalidate()
    return True


def down(name, node=None, config=None):
    """``drbdadm down NAME``; refused like ``secondary`` while the device is in use."""
    held = users(name, node=node, config=config)
    if held:
        raise CommandExecutionError("refusing to take {} down: {}".format(
            name, "; ".join(held)))
    _run(_drbdadm("down", name, config=config))
    _invalidate()
    return True


def adjust_pending(name, config=None):
    """Commands ``drbdadm adjust`` would run (``drbdadm -d adjust``); [] = in sync."""
    res = _run(_drbdadm("-d", "adjust", name, config=config))
    return [ln.strip() for ln in res["stdout"].splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


def adjust(name, config=None):
    """``drbdadm adjust NAME``: apply config changes to a running resource."""
    _run(_drbdadm("adjust", name, config=config))
    _invalidate()
    return True


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


def summarize(res):
    """One-line human summary of a normalised resource status."""
    if not res:
        return "not up"
    parts = ["role {}".format(res["role"])]
    parts += ["vol{} {}".format(v, d["disk"]) for v, d in sorted(res["volumes"].items())]
    for pname, peer in sorted(res["peers"].items()):
        vols = ", ".join("vol{} {} {}{}".format(
            v, d["disk"], d["replication"],
            " {:.1f}%".format(d["sync_percent"]) if d.get("sync_percent") is not None else "")
            for v, d in sorted(peer["volumes"].items()))
        parts.append("peer {} {} {} [{}]".format(pname, peer["connection"], peer["role"], vols))
    return "; ".join(parts)


# ------------------------------------------------------------- device guards (storage SLS)
# Read-only checks the drbd_aoe_lvm SLS guards its mkfs/pvcreate/vgcreate with (onlyif
# function requisites: every value an argument, every command an argument list).
def role_is_primary(name, config=None):
    """True when ``drbdadm role <name>`` says this node is Primary (8.4 prints
    ``Primary/Secondary``, 9 ``Primary``); False when it is Secondary or not up (drbdadm
    fails: the secondary cannot even open the device).

    CLI Example: ``salt '*' drbd.role_is_primary one-disk``
    """
    res = __salt__["cmd.run_all"](_drbdadm("role", name, config=config), python_shell=False,
                                  ignore_retcode=True)
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
    res = __salt__["cmd.run_all"](["pvs", "--noheadings", "-o", "vg_name", device],
                                  python_shell=False, ignore_retcode=True)
    if res.get("retcode") != 0:
        return None
    return " ".join((res.get("stdout") or "").split())


def _sig_type(device):
    """blkid -p TYPE of ``device``: None when blank, "" when ambivalent/untyped."""
    sigs = signatures(device)
    if not sigs:
        return None
    return "" if sigs[0].get("TYPE") == "ambivalent" else sigs[0].get("TYPE", "")


def holds_foreign_data(device, vg):
    """True when ``device`` carries anything but an LVM PV that is in no VG or in ``vg``
    (another VG, a filesystem, a partition table, ambivalent signatures, a PV ``pvs`` cannot
    read). False for a blank device.

    CLI Example: ``salt '*' drbd.holds_foreign_data /dev/drbd2 vg-one``
    """
    sig_type = _sig_type(device)
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
    return _sig_type(device) == "LVM2_member" and _pv_vg(device) == ""
