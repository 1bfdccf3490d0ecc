#!/usr/bin/env python3
"""Converge N hosts + the LINSTOR guide's datastores + a cluster against OnedDouble, twice
(apply, then re-apply as a new run), through Salt's real loader and pyone. Prints the oned
API calls per method and the wall time of each pass. Prints only; asserts nothing.

    .venv/bin/python bench/one_converge.py [--hosts 200] [--datastores 4]
"""
import argparse
import collections
import importlib.util
import pathlib
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent


def load_double():
    spec = importlib.util.spec_from_file_location(
        "onehaext_oned_double", REPO / "test" / "doubles" / "oned_double.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def loaders(root):
    import salt.config
    import salt.loader

    opts = salt.config.minion_config(None)
    opts.update({
        "id": "bench", "root_dir": str(root), "file_client": "local",
        "file_roots": {"base": [str(root / "srv")]}, "cachedir": str(root / "cache"),
        "pki_dir": str(root / "pki"), "sock_dir": str(root / "sock"),
        "log_file": str(root / "minion.log"), "module_dirs": [str(REPO / "_modules")],
        "states_dirs": [str(REPO / "_states")], "utils_dirs": [str(REPO / "_utils")],
        "enable_fqdns_grains": False, "grains": {}, "test": False,
    })
    context = {}
    utils = salt.loader.utils(opts, context=context)
    mods = salt.loader.minion_mods(opts, context=context, utils=utils, whitelist=["one"])
    states = salt.loader.states(opts, mods, utils, {}, context=context, whitelist=["one"])
    return context, states


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--datastores", type=int, default=4,
                    help="the LINSTOR guide's 2 LINSTOR datastores + (N-2) more image datastores")
    args = ap.parse_args()

    guide = yaml.safe_load(
        (REPO / "test" / "fixtures" / "one" / "linstor_guide_datastores.yaml").read_text())
    datastores = dict(guide)
    for i in range(max(args.datastores - len(guide), 0)):
        datastores[f"linstor_image_{i:03d}"] = dict(guide["linstor_image_auto_place"])
    hosts = [f"node{i:03d}" for i in range(args.hosts)]

    double_mod = load_double()
    with tempfile.TemporaryDirectory() as tmp, double_mod.OnedDouble() as oned:
        context, states = loaders(pathlib.Path(tmp))
        conn = {"endpoint": oned.endpoint, "username": oned.username,
                "password": oned.password}

        def apply():
            rets = [states["one.cluster_present"](name="prod", **conn)]
            rets += [states["one.host_present"](name=h, im_mad="kvm", vm_mad="kvm",
                                                cluster="prod", **conn) for h in hosts]
            rets += [states["one.datastore_present"](name=n, template=t, cluster="prod", **conn)
                     for n, t in datastores.items()]
            rets.append(states["one.cluster_present"](name="prod", datastores=list(datastores),
                                                      **conn))
            return rets

        print(f"one_converge: {len(hosts)} hosts, {len(datastores)} datastores, 1 cluster "
              f"({len(hosts) + len(datastores) + 2} states per pass), oned double at "
              f"{oned.endpoint}")
        for label in ("apply", "re-apply"):
            context.clear()          # a new state run
            oned.reset_calls()
            start = time.perf_counter()
            rets = apply()
            wall = time.perf_counter() - start
            outcome = collections.Counter(
                "failed" if r["result"] is False else ("changed" if r["changes"] else "ok")
                for r in rets)
            calls = oned.counts()
            print(f"\n{label}: wall {wall:.3f}s, {sum(calls.values())} API calls, states "
                  + ", ".join(f"{k}={v}" for k, v in sorted(outcome.items())))
            for method, count in sorted(calls.items()):
                print(f"  {method:<28} {count:>5}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
