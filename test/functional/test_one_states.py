"""one states + one execution module through Salt's real loader, against OnedDouble,
always via pyone.OneServer (the module's own client)."""
import logging
import pathlib

import pytest
from conftest import load_double
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
GUIDE_DS = yaml.safe_load(
    (REPO / "test" / "fixtures" / "one" / "linstor_guide_datastores.yaml").read_text())
PASSWORD = "S3cr3t-oned-pw!"


oned_double = load_double("oned_double")


class Run:
    """Salt's real loader (our _modules/_states/_utils via module_dirs/states_dirs/utils_dirs)
    with one shared ``__context__``; ``new_run()`` clears it like a new state run does.

    (conftest's ``salt_loaders`` would do, but its sync_all walks file_roots = the repo,
    .lab/ included, which takes minutes here.)"""

    def __init__(self, root):
        import salt.config
        import salt.loader

        opts = salt.config.minion_config(None)
        opts.update({
            "id": "cloud-cc01", "root_dir": str(root), "file_client": "local",
            "file_roots": {"base": [str(root / "srv")]},
            "pillar_roots": {"base": [str(root / "pillar")]},
            "module_dirs": [str(REPO / "_modules")], "states_dirs": [str(REPO / "_states")],
            "utils_dirs": [str(REPO / "_utils")],
            "cachedir": str(root / "cache"), "pki_dir": str(root / "pki"),
            "sock_dir": str(root / "sock"), "log_file": str(root / "minion.log"),
            "enable_fqdns_grains": False, "grains": {}, "test": False,
        })
        self.opts = opts
        self.context = {}
        utils = salt.loader.utils(opts, context=self.context)
        self.modules = salt.loader.minion_mods(opts, context=self.context, utils=utils,
                                               whitelist=["one"])
        self.states = salt.loader.states(opts, self.modules, utils, {}, context=self.context,
                                         whitelist=["one"])

    def new_run(self):
        self.context.clear()

    def state(self, fun, test=False, **kwargs):
        # LoadedFunc copies the loader's opts["test"] into the module's __opts__ per call
        self.states.opts["test"] = test
        try:
            return self.states[f"one.{fun}"](**kwargs)
        finally:
            self.states.opts["test"] = False


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return Run(tmp_path_factory.mktemp("salt"))


@pytest.fixture
def oned(run):
    run.new_run()
    with oned_double.OnedDouble(password=PASSWORD) as double:
        yield double


@pytest.fixture
def conn(oned):
    return {"endpoint": oned.endpoint, "username": "oneadmin", "password": PASSWORD}


def _apply_guide_datastores(run, conn, test=False, **overrides):
    out = {}
    for name, template in GUIDE_DS.items():
        tmpl = dict(template, **overrides.get(name, {}))
        out[name] = run.state("datastore_present", test=test, name=name, template=tmpl, **conn)
    return out


# ------------------------------------------------------------------------------ datastores
def test_guide_datastores_created_once(run, oned, conn):
    res = _apply_guide_datastores(run, conn)
    sys_ds = res["linstor_system_auto_place"]
    assert sys_ds["result"] is True, sys_ds["comment"]
    assert sys_ds["comment"] == "datastore linstor_system_auto_place created (id 100)"
    assert sys_ds["changes"] == {"old": None, "new": {
        "name": "linstor_system_auto_place", "cluster": "default",
        "template": {"TM_MAD": "linstor", "TYPE": "SYSTEM_DS", "LINSTOR_AUTO_PLACE": "2",
                     "LINSTOR_STORAGE_POOL": "open_system",
                     "BRIDGE_LIST": "alpha bravo charlie delta"}}}
    assert res["linstor_image_auto_place"]["result"] is True
    allocs = oned.calls_to("one.datastore.allocate")
    assert len(allocs) == 2
    assert allocs[0] == (
        'NAME = "linstor_system_auto_place"\nTM_MAD = "linstor"\nTYPE = "SYSTEM_DS"\n'
        'LINSTOR_AUTO_PLACE = "2"\nLINSTOR_STORAGE_POOL = "open_system"\n'
        'BRIDGE_LIST = "alpha bravo charlie delta"\n', -1)
    # what oned stored (through the double's template parser)
    img = oned.datastores[101]
    assert (img["name"], img["type"], img["ds_mad"], img["tm_mad"], img["disk_type"]) == (
        "linstor_image_auto_place", 0, "linstor", "linstor", "BLOCK")
    assert img["template"].get("BRIDGE_LIST") == "alpha bravo charlie delta"
    assert img["clusters"] == {0}
    # one pool read for the whole run, one info per created datastore (verification)
    assert oned.count("one.datastorepool.info") == 1
    assert oned.count("one.datastore.info") == 2


def test_second_run_is_no_change_and_writes_nothing(run, oned, conn):
    _apply_guide_datastores(run, conn)
    run.new_run()
    oned.reset_calls()
    res = _apply_guide_datastores(run, conn)
    for name, ret in res.items():
        assert ret["result"] is True
        assert ret["changes"] == {}
        assert ret["comment"].endswith("is in the desired state"), ret["comment"]
    assert oned.write_calls() == []
    assert oned.counts() == {"one.datastorepool.info": 1}


def test_one_attribute_changed_updates_only_that_attribute(run, oned, conn):
    _apply_guide_datastores(run, conn)
    run.new_run()
    oned.reset_calls()
    res = _apply_guide_datastores(run, conn, linstor_image_auto_place={
        "BRIDGE_LIST": "alpha bravo charlie delta echo"})
    img = res["linstor_image_auto_place"]
    assert img["result"] is True, img["comment"]
    assert img["changes"] == {"BRIDGE_LIST": {"old": "alpha bravo charlie delta",
                                              "new": "alpha bravo charlie delta echo"}}
    assert res["linstor_system_auto_place"]["changes"] == {}
    assert oned.write_calls() == [
        ("one.datastore.update", (101, 'BRIDGE_LIST = "alpha bravo charlie delta echo"\n', 1))]
    stored = oned.datastores[101]["template"]
    assert stored.get("BRIDGE_LIST") == "alpha bravo charlie delta echo"
    assert stored.get("LINSTOR_STORAGE_POOL") == "open_image"  # merge kept the rest
    assert stored.get("DISK_TYPE") == "BLOCK"


def test_test_mode_sends_no_write(run, oned, conn):
    res = _apply_guide_datastores(run, conn, test=True)
    for ret in res.values():
        assert ret["result"] is None
        assert ret["changes"]["old"] is None
    assert oned.write_calls() == []
    _apply_guide_datastores(run, conn)
    run.new_run()
    oned.reset_calls()
    res = _apply_guide_datastores(run, conn, test=True,
                                  linstor_system_auto_place={"LINSTOR_AUTO_PLACE": 3})
    ret = res["linstor_system_auto_place"]
    assert ret["result"] is None
    assert ret["changes"] == {"LINSTOR_AUTO_PLACE": {"old": "2", "new": "3"}}
    assert oned.write_calls() == []
    assert oned.datastores[100]["template"].get("LINSTOR_AUTO_PLACE") == "2"


def test_values_are_compared_as_oned_stores_them(run, oned, conn):
    template = {"tm_mad": "linstor", "type": "system_ds", "linstor_auto_place": 2,
                "bridge_list": ["alpha", "bravo"], "linstor_resource_group": "rg one",
                "compatible_sys_ds": True}
    first = run.state("datastore_present", name="lower", template=template, **conn)
    assert first["result"] is True, first["comment"]
    stored = oned.datastores[100]["template"]
    assert stored.get("BRIDGE_LIST") == "alpha bravo"
    assert stored.get("COMPATIBLE_SYS_DS") == "YES"
    assert stored.get("TYPE") == "SYSTEM_DS"
    run.new_run()
    oned.reset_calls()
    again = run.state("datastore_present", name="lower", template=template, **conn)
    assert again["changes"] == {} and again["result"] is True
    assert oned.write_calls() == []


def test_quotes_in_values_round_trip(run, oned, conn):
    tmpl = dict(GUIDE_DS["linstor_image_auto_place"], NOTE='say "hi" \\ there')
    assert run.state("datastore_present", name="q", template=tmpl, **conn)["result"] is True
    assert oned.datastores[100]["template"].get("NOTE") == 'say "hi" \\ there'
    run.new_run()
    assert run.state("datastore_present", name="q", template=tmpl, **conn)["changes"] == {}


def test_driver_change_is_refused_without_flag(run, oned, conn):
    _apply_guide_datastores(run, conn)
    oned.reset_calls()
    tmpl = dict(GUIDE_DS["linstor_image_auto_place"], TM_MAD="ssh", DS_MAD="fs")
    ret = run.state("datastore_present", name="linstor_image_auto_place", template=tmpl, **conn)
    assert ret["result"] is False
    assert ret["changes"] == {}
    assert "DS_MAD='linstor', TM_MAD='linstor'" in ret["comment"]
    assert "allow_driver_change" in ret["comment"]
    assert oned.write_calls() == []
    ret = run.state("datastore_present", name="linstor_image_auto_place", template=tmpl,
                    allow_driver_change=True, **conn)
    assert ret["result"] is True, ret["comment"]
    assert ret["changes"] == {"DS_MAD": {"old": "linstor", "new": "fs"},
                              "TM_MAD": {"old": "linstor", "new": "ssh"}}
    assert (oned.datastores[101]["ds_mad"], oned.datastores[101]["tm_mad"]) == ("fs", "ssh")


def test_system_ds_with_ds_mad_fails_before_any_call(run, oned, conn):
    tmpl = dict(GUIDE_DS["linstor_system_auto_place"], DS_MAD="linstor")
    ret = run.state("datastore_present", name="bad", template=tmpl, **conn)
    assert ret["result"] is False
    assert "SYSTEM_DS" in ret["comment"] and "DS_MAD" in ret["comment"]
    assert oned.count() == 0


def test_oned_rejection_is_reported(run, oned, conn):
    tmpl = {"TYPE": "IMAGE_DS", "DS_MAD": "linstor", "TM_MAD": "linstor"}  # no BRIDGE_LIST
    ret = run.state("datastore_present", name="nobridge", template=tmpl, **conn)
    assert ret["result"] is False
    assert ret["changes"] == {}
    assert 'missing the "BRIDGE_LIST" attribute' in ret["comment"]


def test_datastore_cluster_membership(run, oned, conn):
    assert run.state("cluster_present", name="prod", **conn)["result"] is True
    ret = run.state("datastore_present", name="linstor_image_auto_place",
                    template=GUIDE_DS["linstor_image_auto_place"], cluster="prod", **conn)
    assert ret["result"] is True, ret["comment"]
    assert oned.calls_to("one.datastore.allocate")[0][1] == 100
    assert oned.datastores[100]["clusters"] == {100}
    run.new_run()
    oned.reset_calls()
    again = run.state("datastore_present", name="linstor_image_auto_place",
                      template=GUIDE_DS["linstor_image_auto_place"], cluster="prod", **conn)
    assert again["changes"] == {}
    # an existing datastore is added to a further cluster
    ret = run.state("datastore_present", name="default", template={"TM_MAD": "ssh"},
                    cluster="prod", **conn)
    assert ret["changes"] == {"clusters": {"old": [0], "new": [0, 100]}}
    assert oned.write_calls() == [("one.cluster.adddatastore", (100, 1))]


def test_datastore_absent(run, oned, conn):
    _apply_guide_datastores(run, conn)
    oned.reset_calls()
    ret = run.state("datastore_absent", name="linstor_image_auto_place", test=True, **conn)
    assert ret["result"] is None and ret["changes"]["new"] is None
    assert oned.write_calls() == []
    ret = run.state("datastore_absent", name="linstor_image_auto_place", **conn)
    assert ret["result"] is True
    assert ret["changes"]["old"]["id"] == 101
    assert oned.write_calls() == [("one.datastore.delete", (101,))]
    assert 101 not in oned.datastores
    run.new_run()
    ret = run.state("datastore_absent", name="linstor_image_auto_place", **conn)
    assert ret == {"name": "linstor_image_auto_place", "result": True, "changes": {},
                   "comment": "datastore linstor_image_auto_place is already absent"}
    oned.datastores[100]["images"].add(7)
    # same run (cached pool): oned's own refusal is reported
    ret = run.state("datastore_absent", name="linstor_system_auto_place", **conn)
    assert ret["result"] is False and ret["changes"] == {}
    assert "Cannot delete datastore 100: it has images." in ret["comment"]
    # next run: refused before any write
    run.new_run()
    oned.reset_calls()
    ret = run.state("datastore_absent", name="linstor_system_auto_place", **conn)
    assert ret["result"] is False and "still holds images [7]" in ret["comment"]
    assert oned.write_calls() == []


# ------------------------------------------------------------------------------ hosts
def test_host_present_create_and_idempotent(run, oned, conn):
    ret = run.state("host_present", name="bravo", im_mad="kvm", vm_mad="kvm", **conn)
    assert ret["result"] is True, ret["comment"]
    assert ret["changes"] == {"old": None, "new": {"name": "bravo", "im_mad": "kvm",
                                                   "vm_mad": "kvm", "cluster": "default"}}
    assert oned.calls_to("one.host.allocate") == [("bravo", "kvm", "kvm", -1)]
    run.new_run()
    oned.reset_calls()
    ret = run.state("host_present", name="bravo", im_mad="kvm", vm_mad="kvm", **conn)
    assert ret["result"] is True and ret["changes"] == {}
    assert oned.counts() == {"one.hostpool.info": 1}


def test_host_present_in_cluster_and_move(run, oned, conn):
    run.state("cluster_present", name="prod", **conn)
    ret = run.state("host_present", name="charlie", im_mad="kvm", vm_mad="kvm",
                    cluster="prod", template={"RESERVED_CPU": 100}, **conn)
    assert ret["result"] is True, ret["comment"]
    assert oned.calls_to("one.host.allocate") == [("charlie", "kvm", "kvm", 100)]
    assert oned.calls_to("one.host.update") == [(0, 'RESERVED_CPU = "100"\n', 1)]
    assert oned.hosts[0]["cluster_id"] == 100
    run.state("cluster_present", name="other", **conn)
    oned.reset_calls()
    ret = run.state("host_present", name="charlie", im_mad="kvm", vm_mad="kvm",
                    cluster="other", template={"RESERVED_CPU": 100}, **conn)
    assert ret["result"] is True
    assert ret["changes"] == {"cluster": {"old": "prod", "new": "other"}}
    assert oned.write_calls() == [("one.cluster.addhost", (101, 0))]
    assert oned.clusters[100]["hosts"] == set() and oned.clusters[101]["hosts"] == {0}


def test_host_driver_mismatch_fails_without_write(run, oned, conn):
    run.state("host_present", name="delta", im_mad="kvm", vm_mad="kvm", **conn)
    oned.reset_calls()
    ret = run.state("host_present", name="delta", im_mad="lxc", vm_mad="lxc", **conn)
    assert ret["result"] is False
    assert "drivers cannot be changed in place" in ret["comment"]
    assert oned.write_calls() == []


def test_host_present_unknown_cluster(run, oned, conn):
    ret = run.state("host_present", name="x", im_mad="kvm", vm_mad="kvm", cluster="nope",
                    **conn)
    assert ret["result"] is False and ret["comment"] == "cluster 'nope' does not exist"
    ret = run.state("host_present", name="x", im_mad="kvm", vm_mad="kvm", cluster="nope",
                    test=True, **conn)
    assert ret["result"] is None
    assert oned.write_calls() == []


def test_host_absent(run, oned, conn):
    run.state("host_present", name="alpha", im_mad="kvm", vm_mad="kvm", **conn)
    ret = run.state("host_absent", name="alpha", **conn)
    assert ret["result"] is True and ret["changes"]["new"] is None
    assert oned.hosts == {}
    ret = run.state("host_absent", name="alpha", **conn)
    assert ret["result"] is True and ret["changes"] == {}


# ------------------------------------------------------------------------------ clusters
def test_cluster_present_create_and_idempotent(run, oned, conn):
    for host in ("alpha", "bravo"):
        run.state("host_present", name=host, im_mad="kvm", vm_mad="kvm", **conn)
    _apply_guide_datastores(run, conn)
    oned.reset_calls()
    ret = run.state("cluster_present", name="prod", hosts=["alpha", "bravo"],
                    datastores=list(GUIDE_DS), **conn)
    assert ret["result"] is True, ret["comment"]
    assert ret["changes"] == {"old": None, "new": {"name": "prod", "hosts": ["alpha", "bravo"],
                                                   "datastores": list(GUIDE_DS)}}
    assert [c for c, _ in oned.write_calls()] == [
        "one.cluster.allocate", "one.cluster.addhost", "one.cluster.addhost",
        "one.cluster.adddatastore", "one.cluster.adddatastore"]
    assert oned.clusters[100]["hosts"] == {0, 1}
    assert oned.clusters[100]["datastores"] == {100, 101}
    run.new_run()
    oned.reset_calls()
    ret = run.state("cluster_present", name="prod", hosts=["alpha", "bravo"],
                    datastores=list(GUIDE_DS), **conn)
    assert ret["result"] is True and ret["changes"] == {}
    assert oned.write_calls() == []
    assert oned.counts() == {"one.hostpool.info": 1, "one.datastorepool.info": 1,
                             "one.clusterpool.info": 1}


def test_cluster_present_missing_member(run, oned, conn):
    ret = run.state("cluster_present", name="prod", hosts=["ghost"], **conn)
    assert ret["result"] is False and "host ghost does not exist" in ret["comment"]
    assert oned.write_calls() == []


def test_cluster_absent(run, oned, conn):
    run.state("cluster_present", name="prod", **conn)
    run.state("host_present", name="alpha", im_mad="kvm", vm_mad="kvm", cluster="prod", **conn)
    ret = run.state("cluster_absent", name="prod", **conn)
    assert ret["result"] is False and "not empty: hosts [0]" in ret["comment"]
    run.state("host_absent", name="alpha", **conn)
    ret = run.state("cluster_absent", name="prod", **conn)
    assert ret["result"] is True and 100 not in oned.clusters


# ------------------------------------------------------------------------------ recover
@pytest.fixture
def stuck_vms(oned):
    return {
        "prolog": oned.add_vm("web", "PROLOG"),
        "epilog": oned.add_vm("db", "EPILOG"),
        "boot": oned.add_vm("cache", "BOOT"),
        "running": oned.add_vm("mon", "RUNNING"),
        "failed": oned.add_vm("old", "PROLOG_FAILURE"),
    }


def test_recover_report_lists_transient_only(run, oned, conn, stuck_vms):
    res = run.modules["one.recover_transient"](policy="report", **conn)
    assert [(v["id"], v["name"], v["lcm_state"]) for v in res["transient"]] == [
        (0, "web", "PROLOG"), (1, "db", "EPILOG"), (2, "cache", "BOOT")]
    assert [(v["id"], v["lcm_state"]) for v in res["failed"]] == [(4, "PROLOG_FAILURE")]
    assert res["recovered"] == [] and res["errors"] == []
    assert oned.counts() == {"one.vmpool.info": 1}
    assert oned.calls_to("one.vmpool.info") == [(-2, -1, -1, 3)]


@pytest.mark.parametrize("policy,op", [("success", 1), ("failure", 0), ("retry", 2)])
def test_recover_policy(run, oned, conn, stuck_vms, policy, op):
    before = dict(oned.vms[stuck_vms["running"]])
    res = run.modules["one.recover_transient"](policy=policy, **conn)
    assert res["recovered"] == [0, 1, 2]
    assert oned.calls_to("one.vm.recover") == [(0, op), (1, op), (2, op)]
    assert oned.vms[stuck_vms["running"]] == before


def test_recover_include_failed_and_vm_ids(run, oned, conn, stuck_vms):
    res = run.modules["one.recover_transient"](policy="retry", include_failed=True,
                                               vm_ids=[2, 4, 3], **conn)
    assert res["recovered"] == [2, 4]
    assert oned.calls_to("one.vm.recover") == [(2, 2), (4, 2)]


def test_recover_success_moves_vms_on(run, oned, conn, stuck_vms):
    """oned's recover --success (LifeCycleManager::recover): PROLOG -> BOOT with the deploy
    started (still transient until the driver answers), EPILOG -> DONE, BOOT -> RUNNING."""
    run.modules["one.recover_transient"](policy="success", **conn)
    res = run.modules["one.recover_transient"](policy="report", **conn)
    assert [(v["id"], v["lcm_state"]) for v in res["transient"]] == [(0, "BOOT")]
    assert oned.vms[stuck_vms["epilog"]]["state"] == oned_double.VM_DONE
    assert oned.vms[stuck_vms["boot"]]["lcm_state"] == oned_double.LCM["RUNNING"]
    oned.complete_driver_actions()  # the deploy answers
    assert run.modules["one.recover_transient"](policy="report", **conn)["transient"] == []


@pytest.mark.parametrize("lcm,after", [("BACKUP", ("ACTIVE", "RUNNING")),
                                       ("BACKUP_POWEROFF", ("POWEROFF", "LCM_INIT")),
                                       ("RESTORE", ("POWEROFF", "LCM_INIT"))])
def test_backup_and_restore_vms_are_transient_and_recovered(run, oned, conn, lcm, after):
    vid = oned.add_vm("bk", lcm)
    res = run.modules["one.recover_transient"](policy="report", **conn)
    assert [(v["id"], v["lcm_state"]) for v in res["transient"]] == [(vid, lcm)]
    ret = run.state("transient_recovered", name="r", policy="success", **conn)
    assert ret["result"] is True and ret["changes"]["recovered"]["new"] == [vid]
    vm = oned.vms[vid]
    assert (vm["state"], vm["lcm_state"]) == (oned_double.VM_STATES[after[0]],
                                              oned_double.LCM[after[1]])


# ------------------------------------------------------------------------------ backup DS
BACKUP_DS = {"TYPE": "BACKUP_DS", "DS_MAD": "rsync", "RSYNC_HOST": "192.168.100.10",
             "RSYNC_USER": "oneadmin"}


def test_backup_datastore_created_verified_and_idempotent(run, oned, conn):
    """oned stores a BACKUP_DS as TYPE 3 (pyone's DATASTORE_TYPES has no 3): created,
    verified and then in the desired state (before: 'verification failed ... ['TYPE']')."""
    ret = run.state("datastore_present", name="backup", template=BACKUP_DS, **conn)
    assert ret["result"] is True, ret["comment"]
    ds = [d for d in oned.datastores.values() if d["name"] == "backup"][0]
    assert (ds["type"], ds["tm_mad"]) == (3, "-")
    run.new_run()
    again = run.state("datastore_present", name="backup", template=BACKUP_DS, **conn)
    assert (again["result"], again["changes"]) == (True, {}), again["comment"]
    assert run.modules["one.datastore_info"]("backup", **conn)["type"] == "BACKUP_DS"
    bad = run.state("datastore_present", name="b2", template=dict(BACKUP_DS, TM_MAD="ssh"),
                    **conn)
    assert bad["result"] is False and "BACKUP_DS" in bad["comment"]


# ------------------------------------------------------------------------------ readiness
def test_oned_ready_waits_for_the_raft_leader(run, oned, conn):
    oned.elect_leader_after(1.5)
    ret = run.state("oned_ready", name="w", timeout=20, interval=0.2, **conn)
    assert ret["result"] is True and ret["changes"] == {}, ret["comment"]
    assert oned.count("one.system.version") >= 2  # "no leader found" first, then answered


def test_oned_ready_times_out_with_the_last_answer(run, oned, conn):
    oned.elect_leader_after(60)
    ret = run.state("oned_ready", name="w", timeout=0.6, interval=0.2, **conn)
    assert ret["result"] is False and "no leader found" in ret["comment"]
    test = run.state("oned_ready", name="w", test=True, timeout=30, **conn)
    assert test["result"] is None and test["changes"] == {}


def test_oned_ready_fails_at_once_on_bad_credentials(run, oned):
    start = __import__("time").monotonic()
    ret = run.state("oned_ready", name="w", timeout=30, endpoint=oned.endpoint,
                    username="oneadmin", password="wrong-pw-1")
    assert ret["result"] is False and "rejected the credentials" in ret["comment"]
    assert __import__("time").monotonic() - start < 5


# ------------------------------------------------------------------------------ secrets
def test_credentials_never_in_output_or_logs(run, oned, conn, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    auth = tmp_path / "one_auth"
    auth.write_text(f"oneadmin:{PASSWORD}\n")
    by_file = {"endpoint": oned.endpoint, "one_auth_file": str(auth)}
    outputs = []
    for connection in (conn, by_file):
        run.new_run()
        outputs.append(_apply_guide_datastores(run, connection))
        outputs.append(run.state("host_present", name="alpha", im_mad="kvm", vm_mad="kvm",
                                 **connection))
        outputs.append(run.state("cluster_present", name="prod", hosts=["alpha"], **connection))
        outputs.append(run.modules["one.recover_transient"](**connection))
    wrong = "Wr0ng-pass-Q"
    run.new_run()
    bad = run.state("host_present", name="beta", im_mad="kvm", vm_mad="kvm",
                    endpoint=oned.endpoint, username="oneadmin", password=wrong)
    outputs.append(bad)
    assert bad["result"] is False
    assert bad["comment"] == (f"one: oned at {oned.endpoint} rejected the credentials "
                              "(authentication failed on one.hostpool.info)")
    text = repr(outputs) + caplog.text
    assert PASSWORD not in text and wrong not in text
    assert f"oneadmin:{PASSWORD}" not in repr(oned.calls)


def test_secret_template_attributes_are_hidden(run, oned, conn):
    tmpl = dict(GUIDE_DS["linstor_image_auto_place"], CEPH_SECRET="abc-123-uuid")
    ret = run.state("datastore_present", name="s", template=tmpl, **conn)
    assert ret["changes"]["new"]["template"]["CEPH_SECRET"] == "<hidden>"
    run.new_run()
    tmpl["CEPH_SECRET"] = "def-456-uuid"
    ret = run.state("datastore_present", name="s", template=tmpl, **conn)
    assert ret["changes"] == {"CEPH_SECRET": {"old": "<hidden>", "new": "<hidden>"}}
    assert "abc-123" not in repr(ret) and "def-456" not in repr(ret)


# ------------------------------------------------------------------------------ scale
@pytest.mark.slow
def test_200_datastores_200_hosts_reapply_costs_one_pool_read_per_kind(run, oned, conn):
    run.state("cluster_present", name="prod", **conn)
    hosts = [f"node{i:03d}" for i in range(200)]
    dss = {f"ds{i:03d}": {"TYPE": "IMAGE_DS", "DS_MAD": "linstor", "TM_MAD": "linstor",
                          "DISK_TYPE": "BLOCK", "BRIDGE_LIST": "alpha bravo",
                          "LINSTOR_AUTO_PLACE": 2} for i in range(200)}

    def apply_all():
        rets = [run.state("host_present", name=h, im_mad="kvm", vm_mad="kvm", cluster="prod",
                          **conn) for h in hosts]
        rets += [run.state("datastore_present", name=n, template=t, cluster="prod", **conn)
                 for n, t in dss.items()]
        return rets

    run.new_run()
    oned.reset_calls()
    first = apply_all()
    assert all(r["result"] is True for r in first)
    assert sum(1 for r in first if r["changes"]) == 400
    assert oned.count("one.hostpool.info") == 1
    assert oned.count("one.datastorepool.info") == 1
    assert oned.count("one.clusterpool.info") == 1
    assert oned.count("one.host.allocate") == 200 and oned.count("one.host.info") == 200
    assert len(oned.clusters[100]["hosts"]) == 200
    assert len(oned.clusters[100]["datastores"]) == 200

    run.new_run()
    oned.reset_calls()
    second = apply_all()
    assert all(r["result"] is True and r["changes"] == {} for r in second)
    assert oned.counts() == {"one.hostpool.info": 1, "one.datastorepool.info": 1,
                             "one.clusterpool.info": 1}


# ---------------------------------------------------------------------------- marketplaces
def test_marketplace_disabled_converges_once_and_test_mode_writes_nothing(run, oned, conn):
    name = "OpenNebula Public"
    dry = run.state("marketplace_disabled", test=True, name=name, **conn)
    assert dry["result"] is None
    assert dry["changes"] == {"state": {"old": "ENABLED", "new": "DISABLED"}}
    assert oned.write_calls() == []

    first = run.state("marketplace_disabled", name=name, **conn)
    assert first["result"] is True, first["comment"]
    assert first["changes"] == {"state": {"old": "ENABLED", "new": "DISABLED"}}
    assert oned.calls_to("one.market.enable") == [(0, False)]
    assert oned.markets[0]["state"] == 1

    run.new_run()
    oned.reset_calls()
    second = run.state("marketplace_disabled", name=name, **conn)
    assert second["result"] is True and second["changes"] == {}
    assert oned.write_calls() == []


def test_marketplace_enabled_turns_a_disabled_one_on(run, oned, conn):
    ret = run.state("marketplace_enabled", name="Linux Containers", **conn)
    assert ret["result"] is True, ret["comment"]
    assert ret["changes"] == {"state": {"old": "DISABLED", "new": "ENABLED"}}
    assert oned.markets[1]["state"] == 0


def test_missing_marketplace_is_disabled_already_but_cannot_be_enabled(run, oned, conn):
    gone = run.state("marketplace_disabled", name="TurnKey Linux", **conn)
    assert gone["result"] is True and gone["changes"] == {}
    assert "does not exist" in gone["comment"]
    missing = run.state("marketplace_enabled", name="TurnKey Linux", **conn)
    assert missing["result"] is False and missing["changes"] == {}
    assert "does not exist" in missing["comment"]
    assert oned.write_calls() == []


def test_marketplace_state_verifies_what_oned_stored(run, oned, conn, monkeypatch):
    # an oned that acknowledges the call but keeps the marketplace enabled
    monkeypatch.setattr(oned, "_m_one_market_enable", lambda oid, enable: oid)
    ret = run.state("marketplace_disabled", name="OpenNebula Public", **conn)
    assert ret["result"] is False
    assert "verification failed" in ret["comment"] and "ENABLED" in ret["comment"]
