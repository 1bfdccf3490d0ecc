#!/usr/bin/env python3
"""Apply, then re-apply, the Pacemaker graph of the Pacemaker/DRBD guide to an offline CIB
with the crm states.

Prints, for each pass, the number of process spawns per tool (counted by wrapping
``cmd.run_all``) and the wall time. It prints figures; it never asserts timings.

    .venv/bin/python bench/crm_apply.py [--keep DIR]
"""
import argparse
import collections
import importlib.util
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
GRAPH = REPO / "test" / "fixtures" / "crm" / "seed000_graph.yaml"


def load(kind, name):
    spec = importlib.util.spec_from_file_location(
        f"onehaext_{kind}_{name}", REPO / f"_{kind}" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def real_run_all():
    """Salt's own cmd.run_all (cmdmod through the loader, no grains scan)."""
    import salt.config
    import salt.loader

    opts = salt.config.minion_config(None)
    opts.update({"file_client": "local", "grains": {"os": "Debian", "kernel": "Linux"},
                 "cachedir": tempfile.mkdtemp(prefix="crm-bench-cache-")})
    mods = salt.loader.minion_mods(opts, whitelist=["cmdmod", "cmd"])
    return mods["cmd.run_all"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="directory to keep the resulting CIB in")
    args = ap.parse_args()
    if shutil.which("cibadmin") is None:
        sys.exit("cibadmin not on PATH (apt-get install pacemaker-cli-utils)")

    graph = yaml.safe_load(GRAPH.read_text())
    work = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="crm-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cib = work / "cib.xml"
    cib.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                  check=True).stdout)

    run_all = real_run_all()
    run_all(["true"], python_shell=False)  # first call imports cmdmod's deps: not measured
    spawns = collections.Counter()

    def counting_run_all(argv, **kwargs):
        spawns[argv[0]] += 1
        return run_all(argv, **kwargs)

    crm = load("modules", "crm")
    states = load("states", "crm")
    opts = {"test": False}
    crm.__salt__ = {"cmd.run_all": counting_run_all}
    crm.__opts__ = opts
    states.__salt__ = {"crm.apply": crm.apply, "crm.remove": crm.remove,
                       "crm.set_properties": crm.set_properties}
    states.__opts__ = opts

    print(f"Pacemaker/DRBD guide graph: {len(graph)} states, CIB file {cib}")
    print(f"{'pass':<10} {'changed':>7} {'failed':>6} {'cibadmin':>8} {'crm_verify':>10} "
          f"{'crm':>4} {'spawns':>6} {'wall s':>7}")
    for label in ("apply", "re-apply"):
        context = {}  # one state run (highstate) = one __context__
        crm.__context__ = context
        states.__context__ = context
        spawns.clear()
        t0 = time.perf_counter()
        changed = failed = 0
        for entry in graph:
            ((fun, kwargs),) = entry.items()
            ret = getattr(states, fun.split(".", 1)[1])(cib=str(cib), **kwargs)
            changed += bool(ret["changes"])
            failed += ret["result"] is False
            if ret["result"] is False:
                print(f"  FAILED {ret['name']}: {ret['comment']}")
        wall = time.perf_counter() - t0
        print(f"{label:<10} {changed:>7} {failed:>6} {spawns['cibadmin']:>8} "
              f"{spawns['crm_verify']:>10} {spawns['crm']:>4} {sum(spawns.values()):>6} "
              f"{wall:>7.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
