#!/usr/bin/env python3
"""Apply, then re-apply, the Pacemaker graph of the Pacemaker/DRBD guide to an offline CIB
with the crm states: state by state, and staged (crm.cib_staged, the states on the copy,
crm.cib_pushed), as pacemaker.resources does.

Prints, for each pass, the process spawns per tool (counted by wrapping ``cmd.run_all``;
``patch->CIB``: the cibadmin --patch runs that wrote the target CIB itself, not the staged
copy) and the wall time. It prints figures; it never asserts timings.

    .venv/bin/python bench/crm_apply.py [--keep DIR]
"""
import argparse
import collections
import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
GRAPH = REPO / "test" / "fixtures" / "crm" / "pacemaker_drbd_guide_graph.yaml"
# stand-ins for the units of packages a bench host lacks (systemd:opennebula), as the tests
UNITS = REPO / "test" / "fixtures" / "systemd-units"
COLUMNS = ("cibadmin --query", "cibadmin --patch", "patch->CIB", "crm_diff", "crm_verify")


def load(kind, name, utils):
    spec = importlib.util.spec_from_file_location(
        f"onehaext_{kind}_{name}", REPO / f"_{kind}" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    mod.__utils__ = utils
    spec.loader.exec_module(mod)
    return mod


def salt_loaders():
    """Salt's own cmd.run_all (cmdmod through the loader, no grains scan) and the utils
    loader with the formula's _utils (the crm module's __utils__)."""
    import salt.config
    import salt.loader

    opts = salt.config.minion_config(None)
    opts.update({"file_client": "local", "grains": {"os": "Debian", "kernel": "Linux"},
                 "cachedir": tempfile.mkdtemp(prefix="crm-bench-cache-"),
                 "utils_dirs": [str(REPO / "_utils")]})
    mods = salt.loader.minion_mods(opts, whitelist=["cmdmod", "cmd"])
    return mods["cmd.run_all"], salt.loader.utils(opts)


def empty_cib(path):
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                   check=True).stdout)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="directory to keep the resulting CIBs in")
    args = ap.parse_args()
    if shutil.which("cibadmin") is None:
        sys.exit("cibadmin not on PATH (apt-get install pacemaker-cli-utils)")

    os.environ.setdefault("SYSTEMD_UNIT_PATH", f"{UNITS}:")
    os.environ.setdefault("SYSTEMD_OFFLINE", "1")
    graph = yaml.safe_load(GRAPH.read_text())
    work = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="crm-bench-"))
    work.mkdir(parents=True, exist_ok=True)

    run_all, utils = salt_loaders()
    run_all(["true"], python_shell=False)  # first call imports cmdmod's deps: not measured
    spawns = collections.Counter()
    target = {}

    def counting_run_all(argv, **kwargs):
        spawns[argv[0]] += 1
        if argv[0] == "cibadmin":
            spawns[" ".join(argv[:2])] += 1
            if argv[1] == "--patch" and (kwargs.get("env") or {}).get("CIB_file") == target["cib"]:
                spawns["patch->CIB"] += 1
        return run_all(argv, **kwargs)

    crm = load("modules", "crm", utils)
    states = load("states", "crm", utils)
    opts = {"test": False}
    crm.__salt__ = {"cmd.run_all": counting_run_all}
    crm.__opts__ = opts
    states.__salt__ = {f"crm.{fun}": getattr(crm, fun) for fun in (
        "apply", "remove", "set_properties", "desired", "plan", "query", "stage", "push")}
    states.__opts__ = opts

    print(f"Pacemaker/DRBD guide graph: {len(graph)} states, CIB files in {work}")
    print(f"{'run':<18} {'changed':>7} {'failed':>6} "
          + " ".join(f"{c:>{len(c)}}" for c in COLUMNS) + f" {'spawns':>6} {'wall s':>7}")
    for mode in ("states", "staged"):
        cib = empty_cib(work / f"cib-{mode}.xml")
        target["cib"] = str(cib)
        stage = work / f"stage-{mode}"
        chain = [("cib_staged", {"name": str(stage), "cib": str(cib)})] if mode == "staged" else []
        state_cib = str(stage / "staged.xml") if mode == "staged" else str(cib)
        chain += [(fun.split(".", 1)[1], dict(kw, cib=state_cib))
                  for entry in graph for fun, kw in entry.items()]
        if mode == "staged":
            chain.append(("cib_pushed", {"name": str(stage), "cib": str(cib)}))
        for label in ("apply", "re-apply"):
            context = {}  # one state run (highstate) = one __context__
            crm.__context__ = context
            states.__context__ = context
            spawns.clear()
            t0 = time.perf_counter()
            changed = failed = 0
            for fun, kwargs in chain:
                ret = getattr(states, fun)(**kwargs)
                changed += bool(ret["changes"])
                failed += ret["result"] is False
                if ret["result"] is False:
                    print(f"  FAILED {ret['name']}: {ret['comment']}")
            wall = time.perf_counter() - t0
            print(f"{mode + ' ' + label:<18} {changed:>7} {failed:>6} "
                  + " ".join(f"{spawns[c]:>{len(c)}}" for c in COLUMNS)
                  + f" {sum(v for k, v in spawns.items() if ' ' not in k and '>' not in k):>6}"
                  f" {wall:>7.2f}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
