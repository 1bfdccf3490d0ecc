#!/usr/bin/env python3
"""bench/render: wall time and peak memory of rendering the highstate with a real
`salt-call --local state.show_highstate`, for a front-end and for a hypervisor, with the
3-node lab pillar and with the generated 2 + 200 node pillar (bench/gen_pillar.py), so the
growth factor is visible. Prints figures; asserts nothing.

    .venv/bin/python bench/render.py [--hypervisors 200] [--repeat 3]
"""
import argparse
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "bench"))

from conftest import minion_config  # noqa: E402
from gen_pillar import scale_pillar  # noqa: E402


def lab_pillar():
    """The 3-node topology of the lab (2 front-ends + 1 hypervisor) on pillar.example."""
    data = scale_pillar(hypervisors=1)
    data["cluster"]["hypervisors"] = {"hv000": {"san": "192.168.1.1"}}
    return data


def render_once(root, minion_id, pillar):
    minion_config(root, minion_id=minion_id, pillar=pillar)
    salt_call = pathlib.Path(sys.executable).parent / "salt-call"
    cmd = [str(salt_call), "--local", f"--config-dir={root}/conf", "--out=quiet",
           "--log-level=quiet", "state.show_highstate"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"render failed for {minion_id}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: report it when it grew
    return wall, after.ru_maxrss, after.ru_utime - before.ru_utime


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hypervisors", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    cases = [
        ("lab 2+1", lab_pillar()),
        (f"scale 2+{args.hypervisors}", scale_pillar(args.hypervisors)),
    ]
    print(f"{'pillar':<14} {'role':<11} {'wall s (best)':>13} {'cpu s':>7} {'peak RSS MiB':>13}")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, pillar in cases:
            for role, minion in (("frontend", "cloud-cc01"), ("hypervisor", "hv000")):
                best, cpu, rss = None, None, 0
                for i in range(args.repeat):
                    wall, maxrss, utime = render_once(pathlib.Path(tmp) / f"{label}-{role}-{i}".replace(" ", "_"),
                                                      minion, pillar)
                    best = wall if best is None else min(best, wall)
                    cpu = utime if cpu is None else min(cpu, utime)
                    rss = max(rss, maxrss)
                rows[(label, role)] = best
                print(f"{label:<14} {role:<11} {best:>13.2f} {cpu:>7.2f} {rss / 1024:>13.1f}")
    small, large = cases[0][0], cases[1][0]
    for role in ("frontend", "hypervisor"):
        print(f"growth {role}: x{rows[(large, role)] / rows[(small, role)]:.2f} wall for "
              f"{args.hypervisors}x the hypervisors")
    print("peak RSS is the largest salt-call child so far (getrusage RUSAGE_CHILDREN)")


if __name__ == "__main__":
    main()
