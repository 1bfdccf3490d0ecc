#!/usr/bin/env python3
"""Converge N LINSTOR nodes x 2 lvmthin pools against the REST double, twice; print figures.

Pass 1 creates every node and pool, pass 2 re-applies the same states (must write nothing).
Both passes run as ONE Salt state run each (``state.high`` through Salt's real loader, our
_modules/_states, the real python-linstor client). Prints requests per endpoint and the wall
time of each pass. Prints only; never asserts timings.

    .venv/bin/python bench/linstor_converge.py [--nodes 200]
"""
import argparse
import importlib.util
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
POOLS = {"open_system": "linstorpool/thin_system", "open_image": "linstorpool/thin_image"}


def load_double():
    spec = importlib.util.spec_from_file_location("linstor_double", REPO / "test" / "doubles" / "linstor_double.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.LinstorRestDouble


def make_loaders(root):
    import salt.config
    from saltfactories.utils.functional import Loaders

    root = pathlib.Path(root)
    for sub in ("files", "pillar", "cache", "pki", "sock"):
        (root / sub).mkdir(exist_ok=True)
    opts = salt.config.minion_config(None)
    opts.update({
        "id": "linstor-bench", "root_dir": str(root), "file_client": "local",
        "file_roots": {"base": [str(root / "files")]}, "pillar_roots": {"base": [str(root / "pillar")]},
        "module_dirs": [str(REPO / "_modules")], "states_dirs": [str(REPO / "_states")],
        "utils_dirs": [str(REPO / "_utils")],
        "cachedir": str(root / "cache"), "pki_dir": str(root / "pki"), "sock_dir": str(root / "sock"),
        "log_file": str(root / "minion.log"), "log_level_logfile": "warning",
        "enable_fqdns_grains": False, "grains_cache": False,
    })
    return Loaders(opts)


def high_data(ctrl, nodes):
    high = {}
    for i in range(nodes):
        node = f"node{i:03d}"
        high[f"node-{node}"] = {
            "linstor": ["node_present", {"name": node}, {"address": f"10.1.{i // 250}.{i % 250 + 1}"},
                        {"controllers": ctrl}],
            "__sls__": "bench", "__env__": "base",
        }
        for pool, driver_pool in POOLS.items():
            high[f"pool-{node}-{pool}"] = {
                "linstor": ["storage_pool_present", {"name": pool}, {"node": node}, {"driver": "LVM_THIN"},
                            {"driver_pool": driver_pool}, {"controllers": ctrl},
                            {"require": [{"linstor": f"node-{node}"}]}],
                "__sls__": "bench", "__env__": "base",
            }
    return high


def run_pass(loaders, double, high, label):
    loaders.context.clear()
    double.reset_requests()
    start = time.monotonic()
    res = loaders.modules.state.high(high)
    wall = time.monotonic() - start
    results = list(res)
    failed = [r.id for r in results if r.result is not True]
    changed = sum(1 for r in results if r.changes)
    print(f"== {label}: {len(results)} states, {changed} changed, {len(failed)} failed, wall {wall:.2f}s")
    if failed:
        print("   first failures:", failed[:5])
    for endpoint, count in double.by_endpoint().items():
        print(f"   {count:6d}  {endpoint}")
    print(f"   {len(double.requests):6d}  total requests, {len(double.writes())} writes")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=200)
    args = parser.parse_args(argv)
    LinstorRestDouble = load_double()
    with tempfile.TemporaryDirectory() as tmp, LinstorRestDouble() as double:
        loaders = make_loaders(tmp)
        high = high_data(double.url, args.nodes)
        print(f"{args.nodes} nodes x {len(POOLS)} pools against {double.url}")
        run_pass(loaders, double, high, "pass 1 (apply)")
        run_pass(loaders, double, high, "pass 2 (re-apply)")
        loaders.reset_state()
    return 0


if __name__ == "__main__":
    sys.exit(main())
