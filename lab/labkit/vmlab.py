"""VM-tier lab harness shared by test/lab/test_vm_*.py and bench/lab_vm_*.py.

Wraps labkit.vms with the probes the checks need: /proc/drbd (8.4) per resource,
crm_mon -1 -X (labkit.checks' parsers: they only need ctl.ssh(topo, host, cmd, timeout=...)),
mounts, exports, AoE, VG, checksums. No assertions here: callers decide.
"""
import json
import re
import time

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

    def json_of(self, host, cmd, timeout=60):
        p = self.ssh(host, cmd, timeout=timeout)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return None
