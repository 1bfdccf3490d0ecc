#!/usr/bin/env python3
"""bench/hosts_apply: cost of opennebula.host.hosts (/etc/hosts: one host.only per node per
network + VIPs + loopback clean-up) on a hypervisor, applied for real twice with
`salt-call --local state.apply opennebula.host.hosts` into a private hosts file (Salt's
`hosts.file` minion option), lab 2+1 vs the 2 + N pillar of bench/gen_pillar.py.
Prints wall (salt-call incl. start + render) and the summed state durations; asserts nothing.

    .venv/bin/python bench/hosts_apply.py [--hypervisors 200]
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "bench"))

from conftest import minion_config  # noqa: E402
from gen_pillar import scale_pillar  # noqa: E402

DEBIAN_HOSTS = "127.0.0.1\tlocalhost\n127.0.1.1\thv000.lan.local hv000\n::1\tlocalhost ip6-localhost\n"


def run(root, hypervisors):
    root.mkdir(parents=True)
    hosts = root / "hosts"
    hosts.write_text(DEBIAN_HOSTS)
    minion_config(root, minion_id="hv000", pillar=scale_pillar(hypervisors),
                  extra={"hosts.file": str(hosts)})
    cmd = [str(pathlib.Path(sys.executable).parent / "salt-call"), "--local",
           f"--config-dir={root}/conf", "--out=json", "--log-level=quiet", "state.apply",
           "opennebula.host.hosts"]
    for label in ("pass 1 (apply)", "pass 2 (re-apply)"):
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.monotonic() - start
        states = json.loads(proc.stdout)["local"]
        secs = sum(float(s["duration"]) for s in states.values()) / 1000
        print(f"2+{hypervisors:<4} {label:<18} wall {wall:5.2f}s  states {secs:5.2f}s  "
              f"{len(states):4d} states, {sum(1 for s in states.values() if s['changes']):4d} "
              f"changed, {sum(1 for s in states.values() if s['result'] is not True)} failed")
    print(f"        hosts file: {len(hosts.read_text().splitlines())} lines")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hypervisors", type=int, default=200)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, args.hypervisors):
            run(pathlib.Path(tmp) / f"n{n}", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
