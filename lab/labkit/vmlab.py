"""VM-tier lab harness shared by test/lab/test_vm_*.py and bench/lab_vm_*.py.

Wraps labkit.vms with the probes the checks need: /proc/drbd (8.4) per resource,
crm_mon -1 -X (labkit.checks' parsers: they only need ctl.ssh(topo, host, cmd, timeout=...)),
mounts, exports, AoE, VG, checksums. No assertions here: callers decide.
"""
import json
import re
import shlex
import time
import xml.etree.ElementTree as ET

from labkit import checks, vms


PROC_DRBD = re.compile(r"^\s*(\d+): cs:(\S+) ro:(\S+)/(\S+) ds:(\S+)/(\S+)", re.M)


def parse_proc_drbd(text):
    """/proc/drbd (8.4) -> {minor: {cs, role, peer_role, disk, peer_disk}}."""
    out = {}
    for m in PROC_DRBD.finditer(text or ""):
        out[int(m.group(1))] = {"cs": m.group(2), "role": m.group(3), "peer_role": m.group(4),
                                "disk": m.group(5), "peer_disk": m.group(6)}
    return out


class VMLab:
    """The running VM lab of one variant: topology, ssh, highstates, probes."""

    wait_for = staticmethod(checks.wait_for)

    def __init__(self, variant):
        self.ctl = vms
        self.check = checks
        self.variant = variant
        self.topo = vms.Topo(variant)
        self.results = {}  # label -> (secs, summary, raw)
        self.figures = []

    # ---------------------------------------------------------------- lifecycle
    def up(self, fresh=False):
        if fresh:
            vms.down(purge=True)
        vms.up(variant=self.variant, no_apply=True)
        self.topo = vms.Topo(self.variant)

    def down(self, purge=False):
        vms.down(purge=purge)

    def highstate(self, label, hosts=None, sls=None, extra=()):
        secs, summ, raw = vms.highstate(self.topo, hosts=hosts, sls=sls, extra=extra, label=label)
        self.results[label] = (secs, summ, raw)
        vms.print_summary(label, secs, summ)
        for h, s in summ.items():
            for sid in s["changed"]:
                ch = (raw.get(h) or {}).get(sid, {}).get("changes")
                print(f"lab-vm:     CHANGED {h} {sid}: {json.dumps(ch)[:300]}", flush=True)
        # the raw return, for the slowest-states / error-text analysis after a run
        (vms.VMLAB / f"highstate-{self.variant}-{label}.json").write_text(json.dumps(raw, indent=1))
        vms.record(self.topo, label, secs, summ)
        return secs, summ, raw

    def ssh(self, host, cmd, timeout=60, check=False):
        return vms.ssh(self.topo, host, cmd, timeout=timeout, check=check)

    def crash(self, host):
        vms.crash_vm(host)

    def boot(self, host):
        t0 = time.monotonic()
        vms.start_vm(self.topo, host)
        return vms.wait_ssh(self.topo, [host], t0)[host]

    def link(self, host, net, state):
        vms.set_link(self.topo, host, net, state)

    def partition(self, a, b, on=True):
        vms.partition(self.topo, a, b, on)

    def console_boots(self, host):
        """How many times the VM's kernel booted since qemu started (its serial console log):
        an in-guest reboot (a fence by SBD) keeps the qemu process and adds one."""
        try:
            return (vms.hdir(host) / "console.log").read_text(errors="replace").count("Linux version ")
        except OSError:
            return 0

    def figure(self, label, value):
        self.figures.append((label, value))
        print(f"FIGURE {label}: {value}", flush=True)
        vms.save_timing(["figures", self.variant, label], value)

    # ---------------------------------------------------------------- probes
    def sls_ids(self, sls):
        """State ids of an SLS in the highstates run so far, placeholders left out."""
        return self.check.sls_ids(self.results, sls)

    def drbd(self, host):
        """{resource name: {cs, role, peer_role, disk, peer_disk}} from /proc/drbd."""
        p = self.ssh(host, "cat /proc/drbd", timeout=20)
        if p.returncode:
            return None
        by_minor = parse_proc_drbd(p.stdout)
        return {name: by_minor.get(res["minor"]) for name, res in self.topo.drbd}

    def drbd_synced(self, host):
        st = self.drbd(host)
        return st if st and all(v and v["cs"] == "Connected" and v["disk"] == "UpToDate"
                                and v["peer_disk"] == "UpToDate" for v in st.values()) else None

    def crm(self, host):
        return self.check.crm_status(self.ctl, self.topo, host)

    def online(self, host):
        return self.check.online_nodes(self.crm(host))

    def group_node(self, host, group="ha_group"):
        return self.check.group_node(self.crm(host), group)

    def promoted_on(self, host):
        """{clone id: [nodes where Promoted]} from crm_mon."""
        st = self.crm(host)
        out = {}
        if st is None:
            return out
        for clone in st.iter("clone"):
            nodes = [n.get("name") for r in clone.findall("resource")
                     if r.get("role") in ("Promoted", "Master") for n in r.findall("node")]
            out[clone.get("id")] = nodes
        return out

    def split_brain_logged(self, host):
        p = self.ssh(host, "dmesg | grep -ci 'split-brain' || true", timeout=20)
        return int((p.stdout.strip() or "0").splitlines()[-1])

    def boot_id(self, host):
        p = self.ssh(host, "cat /proc/sys/kernel/random/boot_id", timeout=20)
        return p.stdout.strip() if p.returncode == 0 else None

    def clock(self, host):
        """The VM's clock (epoch seconds): the reference for its own journal's times."""
        p = self.ssh(host, "date +%s.%N", timeout=20)
        try:
            return float(p.stdout.strip())
        except ValueError:
            return None

    def journal_first(self, host, since, pattern):
        """Epoch time of the first journal line on host since `since` (its clock) that
        matches the extended regex, or None. Pacemaker's fencing history cannot be used for
        this: a fenced node that rejoins takes its fencing events out of the history
        (measured: stonith_admin --history listed none a minute later)."""
        p = self.ssh(host, f"journalctl -o short-unix --no-pager --since @{int(since)} "
                           f"| grep -E -m1 {shlex.quote(pattern)}", timeout=60)
        first = p.stdout.split(maxsplit=1)[:1]
        try:
            return float(first[0]) if first else None
        except ValueError:
            return None

    def fenced_at(self, host, target, since):
        """When host's fencer reported target fenced (epoch, host's clock), or None."""
        return self.journal_first(host, since, f"Operation '(reboot|off)' targeting {target} by .*OK")

    def promoted_at(self, host, since):
        """When DRBD first became Primary on host (epoch, host's clock), or None."""
        return self.journal_first(host, since, r"role\( Secondary -> Primary \)")

    def fence_constraints(self, host):
        """Ids of the location constraints DRBD's crm-fence-peer handler placed."""
        p = self.ssh(host, "cibadmin -Q -o constraints", timeout=30)
        try:
            root = ET.fromstring(p.stdout)
        except ET.ParseError:
            return None
        return sorted(c.get("id") for c in root.iter("rsc_location")
                      if (c.get("id") or "").startswith("drbd-fence-by-handler"))

    def sbd_list(self, host, device):
        """sbd's slots on the device: {node: message}."""
        p = self.ssh(host, f"sbd -d {device} list", timeout=30)
        out = {}
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0].isdigit():
                out[parts[1]] = parts[2]
        return out if p.returncode == 0 else None

    def json_of(self, host, cmd, timeout=60):
        p = self.ssh(host, cmd, timeout=timeout)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return None
