"""VM-tier lab harness shared by test/lab/test_vm_*.py and bench/lab_vm_*.py.

Wraps lab/vm/vmctl.py (imported from its file under a private name) with the probes the
checks need: /proc/drbd (8.4) per resource, crm_mon -1 -X (lab/labcheck.py's parsers: they
only need ctl.ssh(topo, host, cmd, timeout=...)), mounts, exports, AoE, VG, checksums.
No assertions here: callers decide.
"""
import argparse
import importlib.util
import json
import pathlib
import re
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


LABCHECK = _load("onehalab_vm_labcheck", REPO / "lab" / "labcheck.py")
wait_for = LABCHECK.wait_for


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

    def __init__(self, variant):
        self.ctl = _load("onehalab_vmctl", HERE / "vmctl.py")
        self.check = LABCHECK
        self.variant = variant
        self.topo = self.ctl.Topo(variant)
        self.results = {}  # label -> (secs, summary, raw)
        self.figures = []

    # ---------------------------------------------------------------- lifecycle
    def up(self, fresh=False):
        if fresh:
            self.ctl.cmd_down(argparse.Namespace(purge=True))
        self.ctl.cmd_up(argparse.Namespace(variant=self.variant, no_apply=True))
        self.topo = self.ctl.Topo(self.variant)

    def down(self, purge=False):
        self.ctl.cmd_down(argparse.Namespace(purge=purge))

    def highstate(self, label, hosts=None, sls=None, extra=()):
        secs, summ, raw = self.ctl.highstate(self.topo, hosts=hosts, sls=sls, extra=extra, label=label)
        self.results[label] = (secs, summ, raw)
        self.ctl.print_summary(label, secs, summ)
        for h, s in summ.items():
            for sid in s["changed"]:
                ch = (raw.get(h) or {}).get(sid, {}).get("changes")
                print(f"lab-vm:     CHANGED {h} {sid}: {json.dumps(ch)[:300]}", flush=True)
        # the raw return, for the slowest-states / error-text analysis after a run
        (self.ctl.VMLAB / f"highstate-{self.variant}-{label}.json").write_text(json.dumps(raw, indent=1))
        self.ctl.save_timing(["highstate", self.variant, label], {
            "seconds": secs, "ok": self.ctl.ok(summ),
            "changed": {h: len(s["changed"]) for h, s in summ.items()},
            "per_host_state_s": {h: round(s["duration_s"], 1) for h, s in summ.items()}})
        return secs, summ, raw

    def ssh(self, host, cmd, timeout=60, check=False):
        return self.ctl.ssh(self.topo, host, cmd, timeout=timeout, check=check)

    def crash(self, host):
        self.ctl.crash_vm(host)

    def boot(self, host):
        t0 = time.monotonic()
        self.ctl.start_vm(self.topo, host)
        return self.ctl.wait_ssh(self.topo, [host], t0)[host]

    def link(self, host, net, state):
        self.ctl.set_link(self.topo, host, net, state)

    def figure(self, label, value):
        self.figures.append((label, value))
        print(f"FIGURE {label}: {value}", flush=True)
        self.ctl.save_timing(["figures", self.variant, label], value)

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
