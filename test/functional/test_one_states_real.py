"""The `one` states against the REAL oned of each line the formula renders (6.10.5, 7.4.0).

test_one_states.py drives every path of the states against the oned double; this module runs
the same states through Salt's real loader against a real oned (started like
test_real_oned.py does: the cached .deb extracted, ONE_LOCATION, sqlite, on loopback, with the
formula's own oned.conf of the linstor variant, so the LINSTOR drivers are configured). Between
the states and oned sits a recording XML-RPC proxy on loopback: "writes nothing" is asserted on
what reached oned, and what oned stored is read back with pyone, not from the states' output.

One oned per version for the whole module (module-scoped `version` param: all 6.10 tests, then
all 7.4); each test uses its own object names. Skips like test_real_oned.py where no .deb is
cached; fails instead when .ci/run built them (ONED_BUILT=1)."""
import http.server
import logging
import os
import subprocess
import threading
import time
import urllib.request
import xmlrpc.client

import pytest

from conftest import SaltCall, deep_merge
from functional.test_one_states import GUIDE_DS, Run
from functional.test_real_oned import (  # noqa: F401  (oned_trees: the extracted .debs)
    ONE_AUTH, RELEASES, _free_port, _one_location, _stop, _wait_answer,
    oned_trees,
)
from render.test_opennebula_frontend import apply, local_pillar

# every test that starts a real oned runs in one xdist worker (Makefile: --dist loadgroup):
# one oned at a time on 2 cores
pytestmark = pytest.mark.xdist_group("real-oned")
PASSWORD = ONE_AUTH.split(":", 1)[1]
READS = ("info", "system.version", "system.config", "zone.raftstatus")


class Recorder:
    """A loopback XML-RPC proxy in front of oned that records (method, params) of each call."""

    def __init__(self, target):
        self.calls = []
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                params, method = xmlrpc.client.loads(body)
                rec.calls.append((method, params[1:]))  # params[0] is the session
                req = urllib.request.Request(target, data=body,
                                             headers={"Content-Type": "text/xml"})
                with urllib.request.urlopen(req, timeout=60) as r:
                    out = r.read()
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}/RPC2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def writes(self):
        return [(m, p) for m, p in self.calls if not m.endswith(READS)]

    def reset(self):
        self.calls.clear()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class RealOned:
    def __init__(self, version, x, root):
        self.version = version
        port, grpc, mon = _free_port(), _free_port(), _free_port(udp_too=True)
        pillar = local_pillar(root, "linstor", "none")
        pillar = deep_merge(pillar, {"opennebula": {
            "version": version, "db": {"backend": "sqlite"},
            "lookup": {"oned": {"port": port, "listen_address": "127.0.0.1", "grpc_port": grpc}},
        }})
        apply(SaltCall(root / "salt"), "opennebula.config", pillar=pillar)
        t = root / "one"
        _one_location(x, t, root / "etc/one/oned.conf", mon)
        env = dict(os.environ, ONE_LOCATION=str(t), ONE_AUTH=str(t / "one_auth"), HOME=str(t),
                   RUBYLIB=str(t / "lib/ruby"))
        self.out = (root / "oned.out").open("w")
        self.proc = subprocess.Popen(["nice", "-n", "19", str(t / "bin/oned"), "-f"], env=env,
                                     cwd=t, stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.direct = f"http://127.0.0.1:{port}/RPC2"
        try:
            _wait_answer(self.direct, self.proc, t / "var/oned.log")
        except BaseException:
            self.stop()
            raise
        self.rec = Recorder(self.direct)
        self.endpoint = self.rec.endpoint

    def api(self):
        import pyone
        return pyone.OneServer(self.direct, session=ONE_AUTH)

    def datastore(self, name):
        return next(d for d in self.api().datastorepool.info(-2, -1, -1).DATASTORE
                    if d.NAME == name)

    def host(self, name):
        return next((h for h in self.api().hostpool.info().HOST if h.NAME == name), None)

    def cluster(self, name):
        return next((c for c in self.api().clusterpool.info().CLUSTER if c.NAME == name), None)

    def stop(self):
        if getattr(self, "rec", None):
            self.rec.close()
        _stop(self.proc)
        self.out.close()


@pytest.fixture(scope="module", params=list(RELEASES))
def version(request):
    return request.param


@pytest.fixture(scope="module")
def real(version, oned_trees, tmp_path_factory):  # noqa: F811
    server = RealOned(version, oned_trees(version), tmp_path_factory.mktemp(f"real-{version}"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return Run(tmp_path_factory.mktemp("salt"))


@pytest.fixture
def oned(real, run):
    run.new_run()
    real.rec.reset()
    return real


@pytest.fixture
def conn(oned):
    return {"endpoint": oned.endpoint, "username": "oneadmin", "password": PASSWORD}


def _guide(run, conn, suffix, test=False, **overrides):
    out = {}
    for name, template in GUIDE_DS.items():
        tmpl = dict(template, **overrides.get(name, {}))
        out[name] = run.state("datastore_present", test=test, name=name + suffix,
                              template=tmpl, **conn)
    return out


def _tmpl(ds):
    return {k: str(v) for k, v in dict(ds.TEMPLATE).items()}


# ------------------------------------------------------------------------------ datastores
def test_datastores_created_then_the_second_run_writes_nothing(run, oned, conn):
    res = _guide(run, conn, "_a")
    for name, ret in res.items():
        assert ret["result"] is True, ret["comment"]
        assert ret["comment"].startswith(f"datastore {name}_a created (id ")
        assert ret["changes"]["old"] is None
    assert [m for m, _ in oned.rec.writes()] == ["one.datastore.allocate"] * 2
    img = oned.datastore("linstor_image_auto_place_a")
    assert (img.TYPE, img.DS_MAD, img.TM_MAD) == (0, "linstor", "linstor")
    t = _tmpl(img)
    assert t["BRIDGE_LIST"] == "alpha bravo charlie delta" and t["DISK_TYPE"] == "BLOCK"
    assert oned.datastore("linstor_system_auto_place_a").TYPE == 1
    run.new_run()
    oned.rec.reset()
    again = _guide(run, conn, "_a")
    for ret in again.values():
        assert (ret["result"], ret["changes"]) == (True, {}), ret["comment"]
    assert oned.rec.writes() == []


def test_one_attribute_changed_is_the_only_write(run, oned, conn):
    _guide(run, conn, "_b")
    run.new_run()
    oned.rec.reset()
    res = _guide(run, conn, "_b", linstor_image_auto_place={"BRIDGE_LIST": "alpha echo"})
    img = res["linstor_image_auto_place"]
    assert img["result"] is True, img["comment"]
    assert img["changes"] == {"BRIDGE_LIST": {"old": "alpha bravo charlie delta",
                                              "new": "alpha echo"}}
    assert res["linstor_system_auto_place"]["changes"] == {}
    ds = oned.datastore("linstor_image_auto_place_b")
    assert oned.rec.writes() == [
        ("one.datastore.update", (ds.ID, 'BRIDGE_LIST = "alpha echo"\n', 1))]
    t = _tmpl(ds)
    assert t["BRIDGE_LIST"] == "alpha echo" and t["DISK_TYPE"] == "BLOCK"  # merge kept the rest


def test_test_mode_reaches_oned_only_to_read(run, oned, conn):
    res = _guide(run, conn, "_c", test=True)
    assert all(r["result"] is None and r["changes"]["old"] is None for r in res.values())
    assert oned.rec.writes() == []
    assert not [d for d in oned.api().datastorepool.info(-2, -1, -1).DATASTORE
                if d.NAME.endswith("_c")]


def test_values_are_compared_as_oned_stores_them(run, oned, conn):
    template = {"tm_mad": "linstor", "type": "system_ds", "linstor_auto_place": 2,
                "bridge_list": ["alpha", "bravo"], "linstor_resource_group": "rg one",
                "compatible_sys_ds": True}
    first = run.state("datastore_present", name="lower_d", template=template, **conn)
    assert first["result"] is True, first["comment"]
    t = _tmpl(oned.datastore("lower_d"))
    assert (t["BRIDGE_LIST"], t["COMPATIBLE_SYS_DS"], t["LINSTOR_RESOURCE_GROUP"]) == (
        "alpha bravo", "YES", "rg one")
    run.new_run()
    oned.rec.reset()
    again = run.state("datastore_present", name="lower_d", template=template, **conn)
    assert (again["result"], again["changes"]) == (True, {}), again["comment"]
    assert oned.rec.writes() == []


def test_quotes_and_backslashes_round_trip_through_oned(run, oned, conn):
    note = 'say "hi" \\ there $(x) `y`'
    tmpl = dict(GUIDE_DS["linstor_image_auto_place"], NOTE=note)
    assert run.state("datastore_present", name="q_e", template=tmpl, **conn)["result"] is True
    assert _tmpl(oned.datastore("q_e"))["NOTE"] == note
    run.new_run()
    oned.rec.reset()
    assert run.state("datastore_present", name="q_e", template=tmpl, **conn)["changes"] == {}
    assert oned.rec.writes() == []


def test_driver_change_is_refused_without_the_flag(run, oned, conn):
    _guide(run, conn, "_f")
    oned.rec.reset()
    tmpl = dict(GUIDE_DS["linstor_image_auto_place"], TM_MAD="ssh", DS_MAD="fs")
    ret = run.state("datastore_present", name="linstor_image_auto_place_f", template=tmpl, **conn)
    assert (ret["result"], ret["changes"]) == (False, {})
    assert "allow_driver_change" in ret["comment"]
    assert oned.rec.writes() == []
    ret = run.state("datastore_present", name="linstor_image_auto_place_f", template=tmpl,
                    allow_driver_change=True, **conn)
    assert ret["result"] is True, ret["comment"]
    ds = oned.datastore("linstor_image_auto_place_f")
    assert (ds.DS_MAD, ds.TM_MAD) == ("fs", "ssh")


def test_oneds_own_refusal_is_reported(run, oned, conn):
    ret = run.state("datastore_present", name="nohost_g",
                    template={"TYPE": "BACKUP_DS", "DS_MAD": "rsync"}, **conn)
    assert (ret["result"], ret["changes"]) == (False, {})
    assert "RSYNC_HOST" in ret["comment"], ret["comment"]


def test_backup_datastore_is_created_and_then_in_the_desired_state(run, oned, conn):
    bk = {"TYPE": "BACKUP_DS", "DS_MAD": "rsync", "RSYNC_HOST": "192.0.2.10",
          "RSYNC_USER": "oneadmin"}
    ret = run.state("datastore_present", name="backup_h", template=bk, **conn)
    assert ret["result"] is True, ret["comment"]
    assert oned.datastore("backup_h").TYPE == 3
    run.new_run()
    oned.rec.reset()
    again = run.state("datastore_present", name="backup_h", template=bk, **conn)
    assert (again["result"], again["changes"]) == (True, {}), again["comment"]
    assert oned.rec.writes() == []


def test_datastore_cluster_membership_and_absent(run, oned, conn):
    assert run.state("cluster_present", name="prod_i", **conn)["result"] is True
    cid = oned.cluster("prod_i").ID
    ret = run.state("datastore_present", name="img_i",
                    template=GUIDE_DS["linstor_image_auto_place"], cluster="prod_i", **conn)
    assert ret["result"] is True, ret["comment"]
    ds = oned.datastore("img_i")
    assert list(ds.CLUSTERS.ID) == [cid]
    run.new_run()
    oned.rec.reset()
    again = run.state("datastore_present", name="img_i",
                      template=GUIDE_DS["linstor_image_auto_place"], cluster="prod_i", **conn)
    assert again["changes"] == {} and oned.rec.writes() == []
    gone = run.state("datastore_absent", name="img_i", test=True, **conn)
    assert gone["result"] is None and oned.rec.writes() == []
    gone = run.state("datastore_absent", name="img_i", **conn)
    assert gone["result"] is True and gone["changes"]["old"]["id"] == ds.ID
    assert oned.rec.writes() == [("one.datastore.delete", (ds.ID,))]
    run.new_run()
    again = run.state("datastore_absent", name="img_i", **conn)
    assert (again["result"], again["changes"]) == (True, {})


# ------------------------------------------------------------------------------ hosts, clusters
def test_host_present_create_move_and_absent(run, oned, conn):
    ret = run.state("host_present", name="bravo-j", im_mad="kvm", vm_mad="kvm", **conn)
    assert ret["result"] is True, ret["comment"]
    h = oned.host("bravo-j")
    assert (h.IM_MAD, h.VM_MAD, h.CLUSTER) == ("kvm", "kvm", "default")
    run.new_run()
    oned.rec.reset()
    again = run.state("host_present", name="bravo-j", im_mad="kvm", vm_mad="kvm", **conn)
    assert (again["result"], again["changes"]) == (True, {}) and oned.rec.writes() == []
    run.state("cluster_present", name="other_j", **conn)
    ret = run.state("host_present", name="bravo-j", im_mad="kvm", vm_mad="kvm",
                    cluster="other_j", template={"RESERVED_CPU": 100}, **conn)
    assert ret["result"] is True, ret["comment"]
    assert ret["changes"]["cluster"] == {"old": "default", "new": "other_j"}
    h = oned.host("bravo-j")
    assert h.CLUSTER == "other_j" and str(dict(h.TEMPLATE)["RESERVED_CPU"]) == "100"
    oned.rec.reset()
    bad = run.state("host_present", name="bravo-j", im_mad="lxc", vm_mad="lxc", **conn)
    assert bad["result"] is False and "cannot be changed in place" in bad["comment"]
    assert oned.rec.writes() == []
    assert run.state("host_absent", name="bravo-j", **conn)["result"] is True
    assert oned.host("bravo-j") is None


def test_cluster_present_with_members_then_absent(run, oned, conn):
    for host in ("alpha-k", "bravo-k"):
        run.state("host_present", name=host, im_mad="kvm", vm_mad="kvm", **conn)
    _guide(run, conn, "_k")
    dss = [n + "_k" for n in GUIDE_DS]
    ret = run.state("cluster_present", name="prod_k", hosts=["alpha-k", "bravo-k"],
                    datastores=dss, **conn)
    assert ret["result"] is True, ret["comment"]
    c = oned.cluster("prod_k")
    assert sorted(c.HOSTS.ID) == sorted(oned.host(h).ID for h in ("alpha-k", "bravo-k"))
    assert sorted(c.DATASTORES.ID) == sorted(oned.datastore(d).ID for d in dss)
    run.new_run()
    oned.rec.reset()
    again = run.state("cluster_present", name="prod_k", hosts=["alpha-k", "bravo-k"],
                      datastores=dss, **conn)
    assert (again["result"], again["changes"]) == (True, {}) and oned.rec.writes() == []
    refused = run.state("cluster_absent", name="prod_k", **conn)
    assert refused["result"] is False and "not empty" in refused["comment"]
    for host in ("alpha-k", "bravo-k"):
        run.state("host_absent", name=host, **conn)
    run.new_run()
    for d in dss:
        run.state("datastore_absent", name=d, **conn)
    run.new_run()
    assert run.state("cluster_absent", name="prod_k", **conn)["result"] is True
    assert oned.cluster("prod_k") is None


# ------------------------------------------------------------------------------ marketplaces
def test_default_marketplace_disabled_once_then_enabled_again(run, oned, conn):
    name = "OpenNebula Public"  # oned bootstraps it on both lines
    dry = run.state("marketplace_disabled", test=True, name=name, **conn)
    assert dry["result"] is None and oned.rec.writes() == []
    first = run.state("marketplace_disabled", name=name, **conn)
    assert first["result"] is True, first["comment"]
    assert first["changes"] == {"state": {"old": "ENABLED", "new": "DISABLED"}}
    market = next(m for m in oned.api().marketpool.info(-2, -1, -1).MARKETPLACE if m.NAME == name)
    assert market.STATE == 1
    run.new_run()
    oned.rec.reset()
    second = run.state("marketplace_disabled", name=name, **conn)
    assert (second["result"], second["changes"]) == (True, {}) and oned.rec.writes() == []
    back = run.state("marketplace_enabled", name=name, **conn)
    assert back["result"] is True and back["changes"]["state"]["new"] == "ENABLED"


# ------------------------------------------------------------------------------ readiness, secrets
def test_oned_ready_answers_and_bad_credentials_fail_at_once(run, oned, conn):
    ret = run.state("oned_ready", name="w", timeout=30, interval=0.2, **conn)
    assert (ret["result"], ret["changes"]) == (True, {}), ret["comment"]
    start = time.monotonic()
    bad = run.state("oned_ready", name="w", timeout=30, endpoint=oned.endpoint,
                    username="oneadmin", password="Wr0ng-pass-Q")
    assert bad["result"] is False and "rejected the credentials" in bad["comment"]
    print(f"\noned {RELEASES[oned.version]}: bad credentials refused after "
          f"{time.monotonic() - start:.2f} s")


def test_credentials_and_secret_attributes_never_in_output_or_logs(run, oned, conn, caplog,
                                                                    tmp_path):
    caplog.set_level(logging.DEBUG)
    auth = tmp_path / "one_auth"
    auth.write_text(ONE_AUTH + "\n")
    outputs = []
    for connection in (conn, {"endpoint": oned.endpoint, "one_auth_file": str(auth)}):
        run.new_run()
        outputs.append(_guide(run, connection, "_m"))
        outputs.append(run.state("host_present", name="alpha-m", im_mad="kvm", vm_mad="kvm",
                                 **connection))
    tmpl = dict(GUIDE_DS["linstor_image_auto_place"], CEPH_SECRET="abc-123-uuid")
    ret = run.state("datastore_present", name="s_m", template=tmpl, **conn)
    assert ret["changes"]["new"]["template"]["CEPH_SECRET"] == "<hidden>"
    assert _tmpl(oned.datastore("s_m"))["CEPH_SECRET"] == "abc-123-uuid"  # oned has it
    outputs.append(ret)
    text = repr(outputs) + caplog.text
    assert PASSWORD not in text and "abc-123" not in text
