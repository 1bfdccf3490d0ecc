#!/usr/bin/env python3
"""bench/converge: the front-end's three external subsystems at scale, applied for real.

One real `salt-call --local state.apply pacemaker.resources,storage.linstor.objects,
opennebula.register` (the controller/CIB-writer front-end cloud-cc01; opennebula.register
includes opennebula.config, which writes oned.conf and oneadmin's one_auth to a private path)
on the 2 + N pillar of bench/gen_pillar.py (variant linstor), run twice: pass 1 converges an
empty world, pass 2 re-applies it unchanged (a new salt-call = a new run, nothing cached).

  Pacemaker  an offline CIB file (`cibadmin --empty`; pacemaker:lookup:cib), real cibadmin/
             crm_verify
  LINSTOR    LinstorRestDouble on a 127.0.0.1 port (storage:linstor:controllers), through the
             real python-linstor client; packages/services off (storage:lookup:linstor)
  oned       OnedDouble on a 127.0.0.1 port (opennebula:endpoint + one_auth file), through pyone

Spawns are counted with PATH shims: a directory of `/bin/sh` wrappers named cibadmin,
crm_verify, crm, drbdadm, ip, linstor that append their name to a log and exec the real binary,
put first on the salt-call's PATH (so Salt's cmd.run_all and the `onlyif` shells both go
through them). API calls come from the doubles' own request records: LINSTOR per
"METHOD /path-template", oned per XML-RPC method.

The register states only run where the storage VIP is local (opennebula/register/active.jinja,
`onlyif: ip -o addr show to <VIP>/32`): the bench moves the storage network to 127.0.0.0/8
with the VIP 127.0.0.1 (addresses are only data for the doubles), so they run here.

Prints figures; asserts nothing.

    .venv/bin/python bench/converge.py [--hypervisors 200] [--repeat 1] [--keep DIR]
"""
import argparse
import collections
import importlib.util
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "test"))
sys.path.insert(0, str(REPO / "bench"))

from conftest import deep_merge, minion_config  # noqa: E402
from gen_pillar import scale_pillar  # noqa: E402

SLS = "pacemaker.resources,storage.linstor.objects,opennebula.register"
SHIMMED = ("cibadmin", "crm_verify", "crm_diff", "crm", "drbdadm", "ip", "linstor")
ONE_PASSWORD = "bench-oneadmin-pw"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _load(name, path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


def doubles():
    """(LinstorRestDouble, OnedDouble) classes from test/doubles."""
    lin = _load("onehatest_linstor_double", REPO / "test" / "doubles" / "linstor_double.py")
    one = _load("onehaext_oned_double", REPO / "test" / "doubles" / "oned_double.py")
    return lin.LinstorRestDouble, one.OnedDouble


class SpawnShims:
    """A PATH directory of counting wrappers around the real binaries."""

    def __init__(self, root, tools=SHIMMED):
        self.dir = pathlib.Path(root) / "shims"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = pathlib.Path(root) / "spawns.log"
        self.log.write_text("")
        self.tools = []
        for tool in tools:
            real = shutil.which(tool, path=BASE_PATH)
            if real is None:
                continue
            shim = self.dir / tool
            shim.write_text(f'#!/bin/sh\necho {tool} >> "{self.log}"\nexec {real} "$@"\n')
            shim.chmod(0o755)
            self.tools.append(tool)

    @property
    def path(self):
        return f"{self.dir}:{BASE_PATH}"

    def reset(self):
        self.log.write_text("")

    def counts(self):
        return collections.Counter(self.log.read_text().split())


def cib_queries(spawn_log_counts):
    return spawn_log_counts.get("cibadmin", 0)


def converge_pillar(hypervisors, root, cib, linstor_url, oned):
    """gen_pillar's 2 + N linstor pillar, wired to the doubles and the offline CIB."""
    p = scale_pillar(hypervisors)
    # storage network on loopback so that the register guard (VIP local?) is true here
    p["cluster"]["networks"]["san"] = "127.0.0.0/8"
    p["cluster"]["vips"]["san"] = "127.0.0.1"
    p["cluster"]["frontends"]["cloud-cc01"]["san"] = "127.0.0.11"
    p["cluster"]["frontends"]["cloud-cc02"]["san"] = "127.0.0.12"
    for i, hv in enumerate(sorted(p["cluster"]["hypervisors"])):
        p["cluster"]["hypervisors"][hv]["san"] = f"127.0.{1 + i // 250}.{1 + i % 250}"
    p["secrets"]["one_auth"] = f"{oned.username}:{oned.password}"
    return deep_merge(p, {
        "pacemaker": {"lookup": {"cib": str(cib), "stage_dir": str(root / "cib-stage")}},
        "storage": {
            "linstor": {"controllers": linstor_url},
            "lookup": {"linstor": {"manage_packages": False, "manage_services": False,
                                   "client_conf": str(root / "linstor-client.conf"),
                                   "api_wait": 10, "api_wait_interval": 1}},
        },
        "opennebula": {
            "install_packages": False,
            "endpoint": oned.endpoint,
            "oneadmin": {"group": "root", "home": str(root / "oneadmin")},
            "lookup": {"oned_conf": str(root / "etc/one/oned.conf"), "oneadmin_user": "root",
                       # opennebula-register-wait-for-active checks oned listens on this port
                       "oned": {"port": oned.port, "active_wait": 10}},
        },
    })


def empty_cib(path):
    path.write_text(subprocess.run(["cibadmin", "--empty"], capture_output=True, text=True,
                                   check=True, env={"PATH": BASE_PATH}).stdout)
    return path


def salt_call_apply(conf_dir, env, sls=SLS, timeout=900):
    """One real salt-call state.apply; returns (wall seconds, {state id: ret})."""
    cmd = [str(pathlib.Path(sys.executable).parent / "salt-call"), "--local",
           f"--config-dir={conf_dir}", "--out=json", "--log-level=quiet", "state.apply", sls]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                          check=False)
    wall = time.monotonic() - start
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("local"), dict):
        raise RuntimeError(f"salt-call state.apply {sls} rc={proc.returncode}\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, {v["__id__"]: dict(v, __module__=key.split("_|-", 1)[0])
                  for key, v in data["local"].items()}


class Converge:
    """Doubles + CIB + shims + salt-call config for one 2 + N converge; `run_pass()` applies."""

    def __init__(self, hypervisors, root):
        self.root = pathlib.Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.hypervisors = hypervisors
        linstor_cls, oned_cls = doubles()
        self.linstor = linstor_cls()
        self.oned = oned_cls(password=ONE_PASSWORD)

    def __enter__(self):
        self.linstor.start()
        self.oned.start()
        self.cib = empty_cib(self.root / "cib.xml")
        self.shims = SpawnShims(self.root)
        self.pillar = converge_pillar(self.hypervisors, self.root, self.cib, self.linstor.url,
                                      self.oned)
        minion_config(self.root / "salt", minion_id="cloud-cc01", pillar=self.pillar)
        self.env = dict(os.environ, PATH=self.shims.path)
        return self

    def __exit__(self, *exc):
        self.linstor.stop()
        self.oned.stop()

    def run_pass(self):
        self.shims.reset()
        self.linstor.reset_requests()
        self.oned.reset_calls()
        wall, states = salt_call_apply(self.root / "salt" / "conf", self.env)
        by_sub, secs = collections.Counter(), collections.Counter()
        for sid, ret in states.items():
            sub = ret["__module__"] if ret["__module__"] in ("crm", "linstor", "one") else "other"
            by_sub[sub] += 1
            secs[sub] += float(ret.get("duration") or 0) / 1000
        return {
            "wall": wall,
            "state_seconds": sum(float(s.get("duration") or 0) for s in states.values()) / 1000,
            "states": states,
            "states_by_subsystem": dict(by_sub),
            "seconds_by_subsystem": dict(secs),
            "changed": sum(1 for s in states.values() if s["changes"]),
            "failed": {k: s["comment"] for k, s in states.items() if s["result"] is not True},
            "spawns": self.shims.counts(),
            "linstor": self.linstor.by_endpoint(),
            "linstor_writes": len(self.linstor.writes()),
            "oned": self.oned.counts(),
            "oned_writes": len(self.oned.write_calls()),
        }


def report(label, r, tools):
    print(f"\n== {label}: wall {r['wall']:.2f}s (salt-call incl. start + render), "
          f"states {r['state_seconds']:.2f}s, {len(r['states'])} states "
          f"(by state module: {', '.join(f'{k} {v}' for k, v in sorted(r['states_by_subsystem'].items()))}), "
          f"{r['changed']} changed, {len(r['failed'])} failed")
    print("   state seconds per subsystem: " + ", ".join(
        f"{k} {v:.2f}s" for k, v in sorted(r["seconds_by_subsystem"].items())))
    for sid, comment in list(r["failed"].items())[:5]:
        print(f"   FAILED {sid}: {str(comment)[:300]}")
    print("   process spawns (PATH shims): " + ", ".join(f"{t} {r['spawns'].get(t, 0)}"
                                                       for t in tools))
    print(f"   LINSTOR REST requests: {sum(r['linstor'].values())} "
          f"({r['linstor_writes']} writes)")
    for endpoint, count in r["linstor"].items():
        print(f"     {count:6d}  {endpoint}")
    print(f"   oned XML-RPC calls: {sum(r['oned'].values())} ({r['oned_writes']} writes)")
    for method, count in sorted(r["oned"].items()):
        print(f"     {count:6d}  {method}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hypervisors", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=1,
                    help="converge R fresh worlds (new doubles + CIB), print each, then the best")
    ap.add_argument("--keep", help="work directory to keep (CIB, config, spawn log)")
    args = ap.parse_args(argv)
    if shutil.which("cibadmin", path=BASE_PATH) is None:
        sys.exit("cibadmin not on PATH (apt-get install pacemaker-cli-utils)")
    labels = ("pass 1 (apply)", "pass 2 (re-apply, unchanged)")
    walls = collections.defaultdict(list)
    base = pathlib.Path(args.keep or tempfile.mkdtemp(prefix="converge-bench-"))
    for rnd in range(max(1, args.repeat)):
        work = base / f"round{rnd}" if args.repeat > 1 else base
        try:
            with Converge(args.hypervisors, work) as c:
                print(f"\nconverge: 2 front-ends + {args.hypervisors} hypervisors (linstor), "
                      f"salt-call --local state.apply {SLS} on cloud-cc01"
                      + (f" [round {rnd + 1}/{args.repeat}]" if args.repeat > 1 else ""))
                print(f"   CIB {c.cib}, LINSTOR double {c.linstor.url}, "
                      f"oned double {c.oned.endpoint}")
                for label in labels:
                    r = c.run_pass()
                    walls[label].append((r["wall"], r["state_seconds"]))
                    report(label, r, c.shims.tools)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    if args.repeat > 1:
        print(f"\nbest of {args.repeat}: " + "; ".join(
            f"{label}: wall {min(w for w, _ in walls[label]):.2f}s, "
            f"states {min(s for _, s in walls[label]):.2f}s" for label in labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
