"""checks: cluster probes shared by test/lab/ and bench/lab_*.py (pacemaker, VIP, ARP).

`ctl` is the tier module (labkit.containers or labkit.vms): its ssh(topo, host, cmd, ...),
crash_host and BR.

Everything reads machine-readable output on a lab host over ssh: `crm_mon -1 -X`,
`cibadmin -Q`, /sys/class/net. No assertions here: callers decide (wait_for raises
AssertionError when its condition is not reached in time).
"""
import json
import re
import subprocess
import time
import xml.etree.ElementTree as ET


def wait_for(fn, timeout, interval=1.0, what="condition"):
    """Poll fn() until it returns a truthy value; returns (value, seconds)."""
    t0 = time.monotonic()
    last = None
    while time.monotonic() - t0 < timeout:
        last = fn()
        if last:
            return last, round(time.monotonic() - t0, 1)
        time.sleep(interval)
    raise AssertionError(f"{what}: not reached after {timeout}s (last: {last!r})")


def sls_ids(results, sls):
    """State ids of an SLS in the highstate results {label: (secs, summary, raw)},
    placeholders left out."""
    ids = set()
    for _secs, _summ, raw in results.values():
        for r in raw.values():
            if isinstance(r, dict):
                for v in r.values():
                    if isinstance(v, dict) and v.get("__sls__") == sls \
                            and not str(v.get("__id__", "")).endswith("-placeholder"):
                        ids.add(v["__id__"])
    return ids


def crm_status(ctl, topo, host):
    p = ctl.ssh(topo, host, "crm_mon -1 -X", timeout=20)
    if p.returncode != 0 or not p.stdout.strip():
        return None
    try:
        return ET.fromstring(p.stdout)
    except ET.ParseError:
        return None


def online_nodes(status):
    if status is None or status.find("nodes") is None:
        return []
    return sorted(n.get("name") for n in status.find("nodes") if n.get("online") == "true")


def vip_group(ctl, topo, host, vip):
    """Id of the group holding the IPaddr2 primitive of `vip` (from the CIB), else None."""
    p = ctl.ssh(topo, host, "cibadmin -Q", timeout=20)
    if p.returncode != 0:
        return None
    cib = ET.fromstring(p.stdout)
    for group in cib.iter("group"):
        for prim in group.iter("primitive"):
            if prim.get("type") == "IPaddr2" and any(
                    nv.get("name") == "ip" and nv.get("value") == vip for nv in prim.iter("nvpair")):
                return group.get("id")
    return None


def group_node(status, group_id):
    """The node running every resource of the group Started, else None."""
    if status is None:
        return None
    for g in status.iter("group"):
        if g.get("id") != group_id:
            continue
        nodes = set()
        for r in g.findall("resource"):
            if r.get("role") != "Started" or r.get("active") != "true" or r.get("failed") == "true":
                return None
            nodes |= {n.get("name") for n in r.findall("node")}
        return nodes.pop() if len(nodes) == 1 else None
    return None


def mac_of(ctl, topo, host):
    return ctl.ssh(topo, host, "cat /sys/class/net/host0/address", check=True).stdout.strip().lower()


def vip_mac_from(ctl, topo, host, vip):
    """MAC answering ARP for the VIP, seen from a lab host (iputils arping)."""
    p = ctl.ssh(topo, host, f"arping -c1 -w2 -I host0 {vip}", timeout=15)
    for tok in p.stdout.replace("[", " ").replace("]", " ").split():
        if tok.count(":") == 5:
            return tok.lower()
    return None


def ping(addr):
    """One ICMP echo from the host to a lab bridge address."""
    return subprocess.run(["ping", "-c1", "-W1", addr], capture_output=True).returncode == 0


def vip_mac_from_bridge(ctl, vip):
    """MAC answering for the VIP, resolved afresh from the lab host itself (neighbour entry
    flushed, one ping, the entry read back): no ssh into a lab host, whose logins need its
    systemd (busy during a failover: see the report on daemon-reloads)."""
    subprocess.run(["ip", "neigh", "flush", "to", vip, "dev", ctl.BR], capture_output=True)
    if not ping(vip):
        return None
    p = subprocess.run(["ip", "-j", "neigh", "show", "to", vip, "dev", ctl.BR],
                       capture_output=True, text=True)
    try:
        entries = json.loads(p.stdout or "[]")
    except ValueError:
        return None
    macs = [e.get("lladdr", "").lower() for e in entries if e.get("lladdr")]
    return macs[0] if macs else None


def failover(ctl, topo, active, group, vip, timeout=180):
    """SIGKILL the active front-end's systemd; seconds until the group is Started on the
    other front-end and until the VIP answers with the survivor's MAC (None: not reached)."""
    survivor = next(f for f in topo.frontends if f != active)
    smac = mac_of(ctl, topo, survivor)
    t0 = time.monotonic()
    ctl.crash_host(active)
    t_group = t_vip = None
    while time.monotonic() - t0 < timeout and (t_group is None or t_vip is None):
        if t_vip is None and vip_mac_from_bridge(ctl, vip) == smac:
            t_vip = round(time.monotonic() - t0, 1)
        if t_group is None and group_node(crm_status(ctl, topo, survivor), group) == survivor:
            t_group = round(time.monotonic() - t0, 1)
        time.sleep(0.2)
    return survivor, t_group, t_vip


# ---------------------------------------------------------------- raft (VARIANT=raft)
RAFT_STATES = {0: "SOLO", 1: "CANDIDATE", 2: "FOLLOWER", 3: "LEADER"}


def raft_status(one):
    """`one.zone.raftstatus` of one oned (a pyone client) as a dict, None without an answer."""
    try:
        r = one.zone.raftstatus()
    except Exception:  # noqa: BLE001 - down, refusing, timing out: no answer
        return None
    out = {k.lower(): int(getattr(r, k)) for k in ("SERVER_ID", "STATE", "TERM", "COMMIT", "LOG_INDEX")}
    out["state"] = RAFT_STATES.get(out["state"], str(out["state"]))
    return out


def raft_leader(statuses):
    """The front-end whose oned says LEADER (`{host: raft_status}`), None when none does."""
    leaders = [h for h, s in statuses.items() if s and s["state"] == "LEADER"]
    return leaders[0] if len(leaders) == 1 else None


def raft_failover(ctl, topo, leader, clients, vip, timeout=120):
    """SIGKILL the raft leader's systemd (a power cut); seconds until another front-end's oned
    says LEADER (the election) and until the VIP answers with that front-end's MAC (the leader
    hook moved it). `clients`: {front-end: pyone client of its own address}."""
    macs = {f: mac_of(ctl, topo, f) for f in topo.frontends if f != leader}
    t0 = time.monotonic()
    ctl.crash_host(leader)
    t_elect = t_vip = new = None
    while time.monotonic() - t0 < timeout and (t_elect is None or t_vip is None):
        if t_elect is None:
            new = raft_leader({f: raft_status(c) for f, c in clients.items() if f != leader})
            if new:
                t_elect = round(time.monotonic() - t0, 1)
        if new and t_vip is None and vip_mac_from_bridge(ctl, vip) == macs[new]:
            t_vip = round(time.monotonic() - t0, 1)
        time.sleep(0.2)
    return new, t_elect, t_vip


# ---------------------------------------------------------------- failover timeline
_OP_BEGIN = re.compile(r"Requesting local execution of (\w+) operation for (\S+) on (\S+)")
_OP_END = re.compile(r"Result of (\w+) operation for (\S+) on (\S+): (.+?)\s*$")
_LOST = re.compile(r"Node (\S+) state is now lost")
_MEMBERSHIP = re.compile(r"A new membership \(\S+\) was formed")
_TOKEN = re.compile(r"Token has not been received|A processor failed")
_FENCED = re.compile(r"Peer \S+ was terminated \(\w+\) by \S+ on behalf of \S+: OK")


def parse_timeline(records, t0):
    """The survivor's view of a failover from its journal (``journalctl -o json`` records of
    corosync and pacemaker-controld): seconds after ``t0`` (epoch seconds, the crash) at which
    corosync missed the token, formed the new membership, Pacemaker declared the peer lost,
    (with fencing) the fence of the peer succeeded, and each start or promote this node ran
    began and ended. Returns {"token": s, "membership": s, "lost": s, "fenced": s, "ops": [{rsc, op, begin, end, result}] in order of
    beginning}; None where the journal has no line."""
    out = {"token": None, "membership": None, "lost": None, "fenced": None, "ops": []}
    running = {}
    for rec in records:
        try:
            t = int(rec["__REALTIME_TIMESTAMP"]) / 1e6 - t0
        except (KeyError, TypeError, ValueError):
            continue
        msg = rec.get("MESSAGE")
        if t < 0 or not isinstance(msg, str):
            continue
        if out["token"] is None and _TOKEN.search(msg):
            out["token"] = round(t, 2)
        elif out["membership"] is None and _MEMBERSHIP.search(msg):
            out["membership"] = round(t, 2)
        elif out["lost"] is None and _LOST.search(msg):
            out["lost"] = round(t, 2)
        elif out["fenced"] is None and _FENCED.search(msg):
            out["fenced"] = round(t, 2)
        elif (m := _OP_BEGIN.search(msg)) and m.group(1) in ("start", "promote"):
            op = {"rsc": m.group(2), "op": m.group(1), "begin": round(t, 2), "end": None,
                  "result": None}
            running[(op["rsc"], op["op"])] = op
            out["ops"].append(op)
        elif (m := _OP_END.search(msg)) and (m.group(2), m.group(1)) in running:
            op = running.pop((m.group(2), m.group(1)))
            op["end"], op["result"] = round(t, 2), m.group(4)
    return out


def pacemaker_timeline(ctl, topo, host, t0):
    """parse_timeline of `host`'s journal since the crash at epoch `t0`."""
    p = ctl.ssh(topo, host, f"journalctl -o json --no-pager --since=@{int(t0) - 1} "
                "-t corosync -t pacemaker-controld", timeout=60)
    records = []
    for line in p.stdout.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return parse_timeline(records, t0)


def format_timeline(tl):
    """One line per event, for the bench and the lab tests' figures."""
    def s(v):
        return "-" if v is None else f"{v:.2f}"
    lines = [f"token missed {s(tl['token'])}s, membership formed {s(tl['membership'])}s, "
             f"peer lost {s(tl['lost'])}s" + (f", peer fenced {s(tl['fenced'])}s" if tl["fenced"] else "")]
    prev = tl["lost"]
    for op in tl["ops"]:
        dur = None if op["end"] is None else op["end"] - op["begin"]
        wait = None if prev is None else op["begin"] - prev
        lines.append(f"{op['rsc']} {op['op']}: {s(op['begin'])} -> {s(op['end'])}s "
                     f"({s(dur)}s, {op['result'] or 'no result'}; {s(wait)}s after the previous step)")
        prev = op["end"]
    done = [op for op in tl["ops"] if op["end"] is not None]
    if done and tl["lost"] is not None:
        running = sum(op["end"] - op["begin"] for op in done)
        total = done[-1]["end"] - tl["lost"]
        lines.append(f"peer lost -> last step done {total:.2f}s: {running:.2f}s in the agents, "
                     f"{total - running:.2f}s between them (scheduler, executor)")
    return lines


def slowest_states(raw, host, n=10):
    """The `n` states of `host` that took longest in a highstate's raw return:
    [(seconds, state id, sls)], slowest first."""
    ret = (raw or {}).get(host)
    if isinstance(ret, dict) and isinstance(ret.get("return"), dict):
        ret = ret["return"]
    if not isinstance(ret, dict):
        return []
    rows = [(round(float(v.get("duration") or 0) / 1000, 3), v.get("__id__", k), v.get("__sls__"))
            for k, v in ret.items() if isinstance(v, dict)]
    return sorted(rows, key=lambda r: -r[0])[:n]
