"""SBD (STONITH Block Device) parsers and the data-safety decision behind the ``sbd`` module.

Pure functions of their arguments (no Salt dunders), unit-tested on captured output of the
real tool (``test/fixtures/sbd/``, sbd 1.5.2):

* :func:`parse_dump`: ``sbd -d DEV dump`` -> the header (version, uuid, slots, sector size,
  the four timeouts as integers), None when the device carries no SBD header;
* :func:`parse_list`: ``sbd -d DEV list`` -> the allocated slots and their messages;
* :func:`parse_wipefs`: ``wipefs -n -J DEV`` (and :func:`parse_blkid`: ``blkid -p -o export``)
  -> the signatures found on the device;
* :func:`create_problems`: data-safety rule of ``sbd.device_present``: why ``sbd create`` must
  be refused on a device (``[]``: the device is empty or ``force_create`` allows it). The
  state's apply and the module's ``sbd.create`` (CLI path) both decide with it.
"""
import json
import re

# "Timeout (watchdog) : 5" -> key "watchdog"
_DUMP_LINE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z ()]*?)\s*:\s*(?P<value>.*)$")
_DUMP_KEYS = {
    "Header version": "version",
    "UUID": "uuid",
    "Number of slots": "slots",
    "Sector size": "sector_size",
    "Timeout (watchdog)": "watchdog_timeout",
    "Timeout (allocate)": "allocate_timeout",
    "Timeout (loop)": "loop_timeout",
    "Timeout (msgwait)": "msgwait_timeout",
}
_INTS = {"slots", "sector_size", "watchdog_timeout", "allocate_timeout", "loop_timeout",
         "msgwait_timeout"}
# the timeouts sbd.device_present manages (``sbd create -1 <watchdog> -4 <msgwait>``)
TIMEOUTS = ("watchdog_timeout", "msgwait_timeout")
# bytes read from the start of a device to call it empty
HEAD_BYTES = 1024 * 1024


def parse_dump(text, retcode=0):
    """``sbd -d DEV dump`` stdout -> ``{"version": "2.1", "uuid": ..., "slots": 255,
    "sector_size": 512, "watchdog_timeout": 5, "allocate_timeout": 2, "loop_timeout": 1,
    "msgwait_timeout": 10}``; None when sbd found no header (rc != 0, "NOT dumped", or no
    ``Header version`` line). Numbers are integers."""
    if retcode != 0:
        return None
    out = {}
    for line in (text or "").splitlines():
        m = _DUMP_LINE.match(line.strip())
        if not m or m.group("key") not in _DUMP_KEYS:
            continue
        key = _DUMP_KEYS[m.group("key")]
        value = m.group("value").strip()
        if key in _INTS:
            try:
                value = int(value)
            except ValueError:
                raise ValueError(f"sbd dump: {m.group('key')} is not a number: {value!r}")
        out[key] = value
    if "version" not in out or "NOT dumped" in (text or ""):
        return None
    return out


def parse_list(text):
    """``sbd -d DEV list`` stdout (``<slot>\\t<node>\\t<message>\\t<sender>``) ->
    ``[{"slot": 0, "node": "node1", "message": "clear", "sender": ""}]``."""
    out = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 3 or not parts[0].strip().isdigit():
            raise ValueError(f"sbd list: unexpected line {line!r}")
        out.append({"slot": int(parts[0]), "node": parts[1].strip(),
                    "message": parts[2].strip(),
                    "sender": parts[3].strip() if len(parts) > 3 else ""})
    return out


def parse_wipefs(text):
    """``wipefs -n -J DEV`` stdout -> ``[{"type": "ext4", "offset": "0x438", "uuid": ...,
    "label": ...}]`` (``[]``: no signature; empty output is no signature too)."""
    if not (text or "").strip():
        return []
    data = json.loads(text)
    return [{k: sig.get(k) for k in ("type", "offset", "uuid", "label")}
            for sig in data.get("signatures", [])]


def parse_blkid(text, retcode):
    """``blkid -p -o export DEV`` -> ``[]`` when blank (rc 2), ``[{"type": "ambivalent"}]``
    for several signatures (rc 8), else one dict with the ``type`` (TYPE or PTTYPE)."""
    if retcode == 2:
        return []
    if retcode == 8:
        return [{"type": "ambivalent"}]
    fields = {}
    for line in (text or "").splitlines():
        k, sep, v = line.partition("=")
        if sep:
            fields[k.strip()] = v.strip()
    return [{"type": fields.get("TYPE") or ("partition table " + fields["PTTYPE"]
                                            if fields.get("PTTYPE") else "unknown signature"),
             "uuid": fields.get("UUID"), "label": fields.get("LABEL")}]


def timeouts_of(header):
    """The managed timeouts of a header, as integers."""
    return {k: int(header[k]) for k in TIMEOUTS if header and header.get(k) is not None}


def header_diff(header, watchdog_timeout, msgwait_timeout):
    """The ``changes`` of ``sbd.device_present``: ``{}`` when ``header`` has the wanted
    timeouts (compared as numbers), a creation when there is no header, else one entry
    per differing timeout."""
    want = {"watchdog_timeout": int(watchdog_timeout), "msgwait_timeout": int(msgwait_timeout)}
    if header is None:
        return {"old": None, "new": want}
    have = timeouts_of(header)
    return {k: {"old": have.get(k), "new": v} for k, v in want.items() if have.get(k) != v}


def describe_sig(sig):
    extra = ", ".join(f"{k}={sig[k]}" for k in ("label", "uuid", "offset") if sig.get(k))
    return (sig.get("type") or "unknown signature") + (f" ({extra})" if extra else "")


def create_problems(device, header, signatures, head_zero, force_create,
                    watchdog_timeout=None, msgwait_timeout=None):
    """Why ``sbd create`` on ``device`` must be refused (``[]``: go ahead).

    header
        :func:`parse_dump` of the device (None: no SBD header).
    signatures
        the signatures ``wipefs -n -J`` and ``blkid -p`` found (dicts with ``type``).
    head_zero
        the first :data:`HEAD_BYTES` of the device are all zero bytes.
    force_create
        the per-device pillar flag: anything on the device may be overwritten.

    A device is empty when it has no SBD header, no signature and an all-zero head. An SBD
    header is data too (a running cluster's slots and messages): ``sbd create`` over it is
    refused whatever its timeouts (``sbd.device_present`` does not call it when the header
    already has the wanted ones)."""
    if force_create:
        return []
    problems = []
    if header is not None:
        have = timeouts_of(header)
        wanted = ""
        if watchdog_timeout is not None and msgwait_timeout is not None:
            wanted = " (wanted: {} and {})".format(int(watchdog_timeout), int(msgwait_timeout))
        problems.append("{} holds an SBD header (uuid {}) with watchdog timeout {} and msgwait "
                        "timeout {}{}".format(device, header.get("uuid"),
                                              have.get("watchdog_timeout"),
                                              have.get("msgwait_timeout"), wanted))
    for sig in signatures:
        problems.append(f"{device} carries {describe_sig(sig)}")
    if header is None and not signatures and not head_zero:
        problems.append("{} is not empty (non-zero bytes in its first {} MiB, no known "
                        "signature)".format(device, HEAD_BYTES // (1024 * 1024)))
    return problems


def refusal(device, problems, flag="force_create"):
    """The message of a refused ``sbd create``: what was found and the flag that allows it."""
    return ("sbd create on {} REFUSED: {}; it would overwrite them. Set {}: true for this "
            "device (pacemaker:stonith:sbd:devices) only if its contents may be "
            "destroyed".format(device, "; ".join(problems), flag))


def dedupe_signatures(*lists):
    """One entry per signature type+offset over wipefs and blkid findings (blkid gives no
    offset: a type wipefs reported already is dropped)."""
    out, seen_types = [], set()
    for sigs in lists:
        for sig in sigs:
            t = sig.get("type")
            if t in seen_types and not sig.get("offset"):
                continue
            seen_types.add(t)
            out.append(sig)
    return out
