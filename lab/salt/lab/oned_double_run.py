#!/usr/bin/env python3
"""LAB ONLY: runs the oned TEST DOUBLE (test/doubles/oned_double.py, installed next to this
file) with its pools kept in the front-end's MariaDB, the way oned keeps its own in its DB.

The double holds hosts, datastores and clusters in memory; a failover would start it empty on
the other front-end and the next highstate would register everything again. Here every
successful write call stores the pools (pickled, base64) in table `lab_oned_double` of
oned's database (--db), which the formula replicates master-master between the front-ends,
and a start loads them back (without --db: in memory only, as the plain double). The local
MariaDB must answer at start (the unit retries):
starting empty over a database it could not read would lose the registrations.
"""
import argparse
import base64
import importlib.util
import pathlib
import pickle
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("oned_double", HERE / "oned_double.py")
od = importlib.util.module_from_spec(_spec)
sys.modules["oned_double"] = od  # pickle finds od.Template by this module name
_spec.loader.exec_module(od)

POOLS = ("datastores", "hosts", "clusters", "vms", "_next")
TABLE = "lab_oned_double"


def mysql(db, sql, check=True):
    p = subprocess.run(["mysql", "--protocol=socket", "--user=root", "-NB", db], input=sql,
                       capture_output=True, text=True, timeout=30)
    if check and p.returncode:
        raise RuntimeError(f"mysql: {p.stderr.strip()}")
    return p


class PersistentDouble(od.OnedDouble):
    def __init__(self, db, **kw):
        super().__init__(**kw)
        self.db = db

    def load(self, wait=60):
        if not self.db:
            return False
        t0 = time.monotonic()
        while mysql(self.db, "SELECT 1;", check=False).returncode:
            if time.monotonic() - t0 > wait:
                raise SystemExit(f"oned double: database {self.db} does not answer")
            time.sleep(1)
        mysql(self.db, f"CREATE TABLE IF NOT EXISTS {TABLE} (id INT PRIMARY KEY, state LONGTEXT);")
        out = mysql(self.db, f"SELECT state FROM {TABLE} WHERE id = 1;").stdout.strip()
        if out:
            state = pickle.loads(base64.b64decode(out))
            with self.lock:
                for k in POOLS:
                    setattr(self, k, state[k])
        return bool(out)

    def save(self):
        if not self.db:
            return
        blob = base64.b64encode(pickle.dumps({k: getattr(self, k) for k in POOLS})).decode()
        mysql(self.db, f"REPLACE INTO {TABLE} (id, state) VALUES (1, '{blob}');")

    def _dispatch(self, method, params):
        with self.lock:
            ret = super()._dispatch(method, params)
            if ret[0] and method.endswith(self.WRITE_SUFFIXES):
                self.save()
            return ret


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2633)
    ap.add_argument("--user", default="oneadmin")
    ap.add_argument("--password", default="opennebula")
    ap.add_argument("--db", default="", help="oned's MariaDB/MySQL database (local socket, root)")
    a = ap.parse_args(argv)
    double = PersistentDouble(a.db, host=a.host, port=a.port, username=a.user, password=a.password)
    loaded = double.load()
    double.start()
    where = f"{'loaded from' if loaded else 'new in'} {a.db}.{TABLE}" if a.db else "in memory"
    print(f"OnedDouble listening on {double.endpoint} (pools {where})", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        double.stop()


if __name__ == "__main__":
    sys.exit(main())
