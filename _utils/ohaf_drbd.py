"""Pure DRBD logic of the ``drbd`` execution module and states (``__utils__["ohaf_drbd.*"]``).

Parsers of the tools' machine-readable output (``drbdadm dump-xml``, ``/proc/drbd``,
``drbdsetup status --json``, ``drbdadm get-gi``, ``blkid -p -o export``, ``/proc/mounts``)
and the decisions taken over what they read, data safety included:

* :func:`create_md_problems`: metadata only on blank backing/meta devices (the module skips
  the check for ``wipe_backing_device``);
* :func:`primary_problems`: the forced (initial full sync) promotion only on
  ``initial_primary``, both sides Inconsistent, generation identifiers without history;
* :func:`users`: what holds a device that must not be demoted or taken down.

No command runs here: the module reads, these functions decide, the module and the states
both call them (one decision, one message).

.. code-block:: python

    res = __utils__["ohaf_drbd.parse_status_json"](stdout)["one-disk"]
    __utils__["ohaf_drbd.is_synced"](res)
"""
import json
import re
import xml.etree.ElementTree as ET

from salt.exceptions import CommandExecutionError

# DRBD's UUID_JUST_CREATED: the current UUID written by create-md, before any promotion.
UUID_JUST_CREATED = 0x4

# 8.4 connection states that mean "connected" (enum order drbd_conns >= C_CONNECTED).
_CONNECTED_84 = {
    "Connected", "StartingSyncS", "StartingSyncT", "WFBitMapS", "WFBitMapT", "WFSyncUUID",
    "SyncSource", "SyncTarget", "VerifyS", "VerifyT", "PausedSyncS", "PausedSyncT",
    "Ahead", "Behind",
}
# drbd-utils noise on stderr that is not an error (modinfo probe, __DRBD_NODE__ banner)
_NOISE = ("modinfo: not found", "__DRBD_NODE__", "PRETENDING")
# local disk states a forced promotion must never start from
_STALE_DISKS = ("Outdated", "Diskless", "Failed", "Attaching", "Negotiating", "Consistent",
                "DUnknown")
_REFUSALS = {
    "create-md": "refusing drbdadm create-md {name}: {problems}. Set wipe_backing_device: "
                 "True for this resource only if its data may be destroyed.",
    "primary": "refusing forced promotion of {name}: {problems}",
    "secondary": "refusing to demote {name}: {problems}",
    "down": "refusing to take {name} down: {problems}",
}


# ------------------------------------------------------------------------ command output
def clean_stderr(text):
    """``text`` without drbd-utils' noise lines."""
    keep = [s.strip() for s in (text or "").splitlines()]
    return "\n".join(s for s in keep if s and not any(n in s for n in _NOISE))


def failure_text(argv, res):
    """The error of a failed command: ``<argv> failed (rc=N): <stderr or stdout>``."""
    err = clean_stderr(res.get("stderr")) or (res.get("stdout") or "").strip()
    return "{} failed (rc={}): {}".format(" ".join(argv), res.get("retcode"),
                                          err or "no output")


def refusal(action, name, problems):
    """The data-safety refusal of ``action`` (create-md, primary, secondary, down) on
    resource ``name``, naming every problem."""
    return _REFUSALS[action].format(name=name, problems="; ".join(problems))


def parse_version(proc_text, version_stdout):
    """``{"kernel", "utils", "major"}`` from the first line of ``/proc/drbd`` (None: the
    module is not loaded) and ``drbdadm --version`` (``DRBD_KERNEL_VERSION``, 0 = unknown)."""
    kernel = None
    m = re.match(r"\s*version:\s*(\d+\.\d+\.\d+)", proc_text or "")
    if m:
        kernel = m.group(1)
    fields = {}
    for line in (version_stdout or "").splitlines():
        if "=" in line:
            key, _, val = line.partition("=")
            fields[key.strip()] = val.strip()
    if kernel is None and fields.get("DRBD_KERNEL_VERSION", "0") not in ("", "0"):
        kernel = fields["DRBD_KERNEL_VERSION"]
    major = None
    if kernel:
        major = "8.4" if kernel.startswith("8.") else kernel.split(".")[0]
    return {"kernel": kernel, "utils": fields.get("DRBDADM_VERSION"), "major": major}


# ------------------------------------------------------------------------ config
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
    return {"address": (elem.text or "").strip(), "port": int(port) if port else None,
            "family": elem.get("family")}


def parse_dump_xml(text):
    """``drbdadm dump-xml`` output (8.4 and 9) as plain dicts: ``{"file", "global",
    "common": {section: {opt: value}}, "resources": {name: {"name", "options", "hosts":
    {host: {"address", "port", "family", "node_id"?, "volumes": {vnr: {"device", "minor",
    "disk", "meta_disk", "meta_index"}}}}, "connections"}}}``."""
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
                {h.get("name"): _parse_address(h.find("address")) for h in conn.findall("host")})
        ret["resources"][name] = rdict
    return ret


def local_host(rconf, names):
    """``(host, section)`` of a parsed resource for this node: the first of ``names`` (the
    ``node`` argument, grains nodename/host/id) that is an ``on`` host."""
    for n in names:
        if n in rconf["hosts"]:
            return n, rconf["hosts"][n]
    raise CommandExecutionError(
        "resource {}: none of {} is an 'on' host in the DRBD config (hosts: {})".format(
            rconf["name"], names, sorted(rconf["hosts"])))


def local_volumes(conf, name, names):
    """``(resource, host, volumes, peers)`` of resource ``name`` on this node."""
    if name not in conf["resources"]:
        raise CommandExecutionError("resource {} is not in the DRBD config".format(name))
    rconf = conf["resources"][name]
    host, hdict = local_host(rconf, names)
    return rconf, host, hdict["volumes"], [h for h in rconf["hosts"] if h != host]


# ------------------------------------------------------------------------ status
def parse_proc_drbd(text):
    """``/proc/drbd`` (8.4): ``{"version": str, "minors": {minor: {"cs", "ro": (local,
    peer), "ds": (local, peer), "protocol", "sync_percent"?, "oos"?}}}``."""
    ret = {"version": None, "minors": {}}
    cur = None
    for line in (text or "").splitlines():
        m = re.match(r"\s*version:\s*(\S+)", line)
        if m:
            ret["version"] = m.group(1)
            continue
        m = re.match(r"\s*(\d+):\s+cs:(\S+)(.*)$", line)
        if m:
            rest = m.group(3)
            cur = {"cs": m.group(2)}
            for fld in ("ro", "ds"):
                mm = re.search(r"\b" + fld + r":(\S+)/(\S+)", rest)
                if mm:
                    cur[fld] = (mm.group(1), mm.group(2))
            mm = re.search(r"ds:\S+\s+([ABC])\s", rest + " ")
            cur["protocol"] = mm.group(1) if mm else None
            ret["minors"][int(m.group(1))] = cur
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


def _peer_volume_84(st):
    """The peer side of one 8.4 minor, in the DRBD 9 vocabulary."""
    cs, ds = st["cs"], st.get("ds", (None, None))
    connected = cs in _CONNECTED_84
    repl = "Off" if not connected else ("Established" if cs == "Connected" else cs)
    pct = st.get("sync_percent")
    if pct is None and (ds == ("UpToDate", "UpToDate") or (
            connected and st.get("oos") == 0 and repl == "Established")):
        pct = 100.0
    return connected, {"disk": ds[1], "replication": repl, "sync_percent": pct,
                       "out_of_sync_kib": st.get("oos")}


def status_84(proc_text, conf, names, name=None):
    """The normalised status (as :func:`parse_status_json`) of the resources of ``conf``
    that are up on this node, from ``/proc/drbd`` (8.4): the connection is ``Connected``
    for every connected cs (the raw one in ``cstate``), replication
    ``Established``/``SyncSource``/... or ``Off``."""
    proc = parse_proc_drbd(proc_text)
    out = {}
    for rname, rconf in conf["resources"].items():
        if name and rname != name:
            continue
        try:
            host, hdict = local_host(rconf, names)
        except CommandExecutionError:
            continue
        peers = [h for h in rconf["hosts"] if h != host]
        peer_name = peers[0] if len(peers) == 1 else "peer"
        res = {"name": rname, "role": None, "volumes": {}, "peers": {}}
        conn = {"name": peer_name, "connection": None, "role": None, "volumes": {}}
        for vnr, vol in sorted(hdict["volumes"].items()):
            st = proc["minors"].get(vol.get("minor"))
            if not st or st["cs"] == "Unconfigured":
                continue
            ro = st.get("ro", (None, None))
            res["role"] = ro[0]
            res["volumes"][vnr] = {"minor": vol.get("minor"), "device": vol.get("device"),
                                   "disk": st.get("ds", (None, None))[0]}
            connected, conn["volumes"][vnr] = _peer_volume_84(st)
            conn.update(connection="Connected" if connected else st["cs"], cstate=st["cs"],
                        role=ro[1])
        if res["volumes"]:
            res["peers"][peer_name] = conn
            out[rname] = res
    return out


def parse_status_json(text):
    """``drbdsetup status --json`` (DRBD 9): ``{name: {"name", "role", "node_id", "volumes":
    {vnr: {"minor", "device", "disk", "open", "quorum"}}, "peers": {peer: {"name",
    "connection", "role", "node_id", "volumes": {vnr: {"disk", "replication",
    "sync_percent", "out_of_sync_kib"}}}}}}``."""
    try:
        data = json.loads(text) if text.strip() else []
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


def summarize(res):
    """One-line human summary of a normalised resource status ("not up" for None)."""
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


# ------------------------------------------------------------------------ metadata, signatures
_GI_RE = re.compile(r"([0-9A-Fa-f]{16}):([0-9A-Fa-f]{16}):([0-9A-Fa-f]{16}):"
                    r"([0-9A-Fa-f]{16})((?::\d+)*)")


def parse_gi(text):
    """``get-gi`` output ``CURRENT:BITMAP:HIST1:HIST2:flags...`` (v08 and v09; DRBD 9
    prints one line per peer device): the first line's dict with ``"lines"`` holding every
    line, or None."""
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


def gi_of_result(argv, res):
    """The generation identifiers from a ``drbdadm get-gi`` result: None when the device
    has no DRBD metadata (drbdmeta rc 1, "No valid meta data found"); any other failure
    (rc 1 from a device that cannot be opened, rc 20...) raises."""
    if res["retcode"] == 0:
        gi = parse_gi(res["stdout"])
        if gi is None:
            raise CommandExecutionError("unexpected drbdadm get-gi output: {!r}".format(
                res["stdout"][:200]))
        return gi
    if res["retcode"] == 1 and "open(" not in clean_stderr(res.get("stderr")):
        return None
    raise CommandExecutionError(failure_text(argv, res))


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


def parse_blkid_export(text):
    """``blkid -p -o export`` output -> dict."""
    out = {}
    for line in (text or "").splitlines():
        if "=" in line:
            k, _, v = line.partition("=")
            out[k.strip()] = v.strip().replace("\\ ", " ")
    return out


def signatures_of_result(device, res):
    """The signatures from a ``blkid -p -o export`` result: ``[]`` when blank (rc 2),
    ``[{"TYPE": "ambivalent"}]`` for several signatures (rc 8), else one dict."""
    if res["retcode"] == 2:
        return []
    if res["retcode"] == 8:
        return [{"TYPE": "ambivalent", "DEVNAME": device}]
    return [parse_blkid_export(res["stdout"])]


def sig_type(sigs):
    """blkid TYPE of a device's signatures: None when blank, "" when ambivalent/untyped."""
    if not sigs:
        return None
    return "" if sigs[0].get("TYPE") == "ambivalent" else sigs[0].get("TYPE", "")


def _describe_sig(sig):
    what = sig.get("TYPE") or ("partition table " + sig["PTTYPE"] if sig.get("PTTYPE")
                               else "unknown signature")
    extra = ", ".join("{}={}".format(k, sig[k]) for k in ("LABEL", "UUID") if sig.get(k))
    return what + (" ({})".format(extra) if extra else "")


def md_devices(volumes):
    """``[(vnr, role, device)]`` create-md writes to: every backing device, and an external
    meta-disk that is not the backing device."""
    out = []
    for vnr, vol in sorted(volumes.items()):
        devices = [("backing device", vol.get("disk"))]
        md = vol.get("meta_disk")
        if md and md != "internal" and md != vol.get("disk"):
            devices.append(("meta-disk", md))
        out += [(vnr, role, dev) for role, dev in devices if dev and dev != "none"]
    return out


def create_md_problems(name, has_md, checks):
    """Data-safety rule 1: why create-md must be refused (``[]``: the devices are blank).
    ``has_md``: get-gi found DRBD metadata; ``checks``: ``[(vnr, role, device, signatures)]``
    for :func:`md_devices`."""
    problems = []
    if has_md:
        problems.append("resource {} already has DRBD metadata (drbdadm get-gi succeeds); "
                        "create-md would reset its generation identifiers".format(name))
    for vnr, role, dev, sigs in checks:
        for sig in sigs:
            if sig.get("TYPE") == "drbd":
                continue  # DRBD metadata itself: has_md
            problems.append("{} {} of resource {} volume {} carries {}".format(
                role, dev, name, vnr, _describe_sig(sig)))
    return problems


# ------------------------------------------------------------------------ roles
def force_needed(force, res):
    """A promotion asked with ``force`` uses it only while some local disk is not UpToDate
    (after the initial sync a plain promotion does)."""
    return bool(force) and bool(res) and not all(
        v["disk"] == "UpToDate" for v in res["volumes"].values())


def primary_problems(name, res, gi, me, initial_primary):
    """Data-safety rule 2, the one check of a forced promotion: why it must be refused
    (``[]``: this is the allowed initial full sync). ``res``: the resource's normalised
    status (None: not up), ``gi``: its generation identifiers, ``me``: this node's id."""
    problems = []
    if not initial_primary:
        problems.append("forced promotion needs initial_primary=<minion id> naming this "
                        "node ({})".format(me))
    elif initial_primary != me:
        problems.append("this node is {}, but initial_primary is {}".format(me, initial_primary))
    if res is None:
        problems.append("resource {} is not up".format(name))
        return problems
    for vnr, vol in sorted(res["volumes"].items()):
        if vol["disk"] in _STALE_DISKS:
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
    if gi_has_history(gi):
        problems.append("generation identifiers show history ({}): resource {} has been "
                        "promoted or synced before".format(gi["raw"], name))
        if peer_unknown:
            problems.append("peer state is unknown (not Connected / DUnknown) and the "
                            "resource has been connected before")
    return problems


# ------------------------------------------------------------------------ users
def parse_mounts(text):
    """``/proc/mounts`` -> list of (source, mountpoint, fstype)."""
    out = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 3:
            out.append((parts[0].replace("\\040", " "), parts[1].replace("\\040", " "),
                        parts[2]))
    return out


def volume_devices(name, volumes):
    """The local devices of resource ``name``: ``[{"minor", "kdev", "aliases", "open"}]``,
    ``kdev`` the kernel's /dev/drbdN, ``aliases`` every name a mount may use for it."""
    out = []
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
        out.append({"minor": minor, "kdev": kdev, "aliases": aliases, "open": vol.get("open")})
    return out


def users(devices, mounts, holders):
    """What holds ``devices`` (:func:`volume_devices`), one string each: mounts
    (``mounts``: ``[(source, mountpoint, fstype, realpath of source)]`` of /dev sources),
    holders (``{minor: [(holder, dm name)]}``) and DRBD 9 open counts. ``[]``: unused."""
    found = []
    for d in devices:
        kdev = d["kdev"]
        for src, mnt, fstype, real in mounts:
            if src in d["aliases"] or real == kdev:
                found.append("{} mounted on {} ({})".format(src, mnt, fstype))
        for holder, dmname in holders.get(d["minor"], []):
            found.append("{} held by {}{}".format(
                kdev, holder, " ({})".format(dmname) if dmname else ""))
        if d["open"]:
            found.append("{} is open (drbdsetup status reports open: true)".format(kdev))
    return found
