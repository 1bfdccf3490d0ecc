"""OnedDouble's contract: oned's response convention and XML that pyone's own
XSD-generated bindings accept, element by element, in their order."""
import importlib.util
import inspect
import pathlib
import re
import subprocess
import sys
import xmlrpc.client

import pytest
from lxml import etree

import pyone
from pyone import bindings
from pyone.bindings import supbind

REPO = pathlib.Path(__file__).resolve().parents[2]
DOUBLE_PATH = REPO / "test" / "doubles" / "oned_double.py"


def _load_double():
    name = "onehaext_oned_double"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, DOUBLE_PATH)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


oned_double = _load_double()


def _members(obj):
    """Element names of a generateDS class, in XSD sequence order (its __init__ order)."""
    params = inspect.signature(type(obj).__init__).parameters
    return [p for p in params if p not in ("self", "gds_collector_", "kwargs_")]


def check_layout(node, obj, path=""):
    """Every child element of ``node`` is a member pyone's class knows, in the class's
    (XSD sequence) order, and pyone kept its value; recurse into nested binding objects."""
    members = _members(obj)
    if members == ["anytypeobjs_"]:
        return
    last = -1
    seen = {}
    for child in node:
        tag = child.tag
        where = f"{path}/{tag}"
        assert tag in members, f"{where}: not an element of pyone's {type(obj).__name__}"
        idx = members.index(tag)
        assert idx >= last, f"{where}: out of order for pyone's {type(obj).__name__}"
        last = idx
        value = getattr(obj, tag)
        nth = seen.get(tag, 0)
        seen[tag] = nth + 1
        if isinstance(value, list):
            assert nth < len(value), f"{where}: pyone dropped a repeated element"
            value = value[nth]
        if len(child) or (child.text or "").strip():
            assert value is not None, f"{where}: pyone dropped the value"
        if isinstance(value, supbind.GeneratedsSuper):
            check_layout(child, value, where)


@pytest.fixture
def oned():
    with oned_double.OnedDouble() as double:
        double.add_vm("web", "PROLOG")
        double.add_vm("db", "RUNNING")
        yield double


@pytest.fixture
def raw(oned):
    """Plain xmlrpc.client: the raw [success, body, code] answers."""
    proxy = xmlrpc.client.ServerProxy(oned.endpoint)

    def call(method, *args, session=None):
        return getattr(proxy, method)(session or oned.session, *args)
    return call


def _populate(oned):
    one = pyone.OneServer(oned.endpoint, session=oned.session)
    cid = one.cluster.allocate("prod")
    one.datastore.allocate(
        (DOUBLE_PATH.parents[1] / "fixtures" / "one" / "linstor_guide_system_ds.conf").read_text(),
        cid)
    hid = one.host.allocate("alpha", "kvm", "kvm", cid)
    one.host.update(hid, 'RESERVED_CPU = "100"\nPCI = [ VENDOR = "10de" ]', 1)
    return one


@pytest.mark.parametrize("method,args,root", [
    ("one.datastorepool.info", (), "DATASTORE_POOL"),
    ("one.datastore.info", (100,), "DATASTORE"),
    ("one.hostpool.info", (), "HOST_POOL"),
    ("one.host.info", (0,), "HOST"),
    ("one.clusterpool.info", (), "CLUSTER_POOL"),
    ("one.cluster.info", (100,), "CLUSTER"),
    ("one.vmpool.info", (-2, -1, -1, -1), "VM_POOL"),
])
def test_xml_matches_pyone_bindings(oned, raw, method, args, root):
    _populate(oned)
    ok, body, code = raw(method, *args)
    assert (ok, code) == (True, 0)
    node = etree.fromstring(body.encode())
    assert node.tag == root
    obj = bindings.parseString(body.encode())
    assert type(obj).__name__ == f"{root}Sub"
    check_layout(node, obj, root)


def test_vmpool_infoextended_vms_match_pyone_vm(oned, raw):
    ok, body, _ = raw("one.vmpool.infoextended", -2, -1, -1, -1)
    assert ok
    vms = etree.fromstring(body.encode()).findall("VM")
    assert len(vms) == 2
    for vm in vms:
        text = etree.tostring(vm)
        obj = bindings.parseString(text)
        assert type(obj).__name__ == "VMSub"
        check_layout(vm, obj, "VM")
        assert obj.PERMISSIONS.OWNER_U == 1


def test_values_through_pyone(oned):
    one = _populate(oned)
    ds = one.datastore.info(100)
    assert (ds.NAME, ds.TYPE, ds.DS_MAD, ds.TM_MAD, ds.CLUSTERS.ID) == (
        "linstor_system_auto_place", 1, "-", "linstor", [100])
    assert dict(ds.TEMPLATE) == {
        "TM_MAD": "linstor", "TYPE": "SYSTEM_DS", "LINSTOR_AUTO_PLACE": "2",
        "LINSTOR_STORAGE_POOL": "open_system", "BRIDGE_LIST": "alpha bravo charlie delta",
        "SHARED": "YES", "DS_MIGRATE": "YES", "DISK_TYPE": "FILE", "ALLOW_ORPHANS": "NO",
        "SAFE_DIRS": "/var/tmp", "RESTRICTED_DIRS": "/"}
    host = one.hostpool.info().HOST[0]
    assert (host.NAME, host.IM_MAD, host.VM_MAD, host.CLUSTER_ID, host.CLUSTER) == (
        "alpha", "kvm", "kvm", 100, "prod")
    assert host.TEMPLATE["RESERVED_CPU"] == "100"
    assert dict(host.TEMPLATE["PCI"]) == {"VENDOR": "10de"}
    cluster = one.clusterpool.info().CLUSTER
    assert [(c.ID, c.NAME, c.HOSTS.ID, c.DATASTORES.ID) for c in cluster] == [
        (0, "default", [], [0, 1, 2]), (100, "prod", [0], [100])]
    vms = one.vmpool.info(-2, -1, -1, 3).VM
    assert [(v.ID, v.NAME, v.STATE, v.LCM_STATE) for v in vms] == [
        (0, "web", 3, pyone.LCM_STATE.PROLOG), (1, "db", 3, pyone.LCM_STATE.RUNNING)]
    assert vms[0].HISTORY_RECORDS.HISTORY[0].HOSTNAME == "node1"
    assert one.system.version() == "6.10.0"


def test_error_convention_and_pyone_exceptions(oned, raw):
    assert raw("one.datastore.info", 999) == [
        False, "[one.datastore.info] Error getting datastore [999].", 0x0400, 999, -1]
    ok, msg, code, *_ = raw("one.hostpool.info", session="oneadmin:wrong")
    assert (ok, code) == (False, 0x0100)
    assert "authenticated" in msg
    one = pyone.OneServer(oned.endpoint, session=oned.session)
    with pytest.raises(pyone.OneNoExistsException):
        one.host.info(42)
    with pytest.raises(pyone.OneAuthenticationException):
        pyone.OneServer(oned.endpoint, session="oneadmin:wrong").hostpool.info()
    with pytest.raises(pyone.OneInternalException, match="NAME is already taken"):
        one.cluster.allocate("default")
    with pytest.raises(pyone.OneInternalException, match="cannot have DS_MAD"):
        one.datastore.allocate('NAME=x\nTYPE=SYSTEM_DS\nDS_MAD=fs\nTM_MAD=ssh', -1)


def test_calls_recorded_without_session(oned):
    one = pyone.OneServer(oned.endpoint, session=oned.session)
    one.hostpool.info()
    one.vm.recover(0, 1)
    assert oned.calls == [("one.hostpool.info", ()), ("one.vm.recover", (0, 1))]
    assert oned.write_calls() == [("one.vm.recover", (0, 1))]
    assert oned.counts() == {"one.hostpool.info": 1, "one.vm.recover": 1}
    # recover --success on PROLOG: oned moves on to BOOT and starts the deploy
    assert oned.vms[0]["lcm_state"] == pyone.LCM_STATE.BOOT


def test_update_merge_and_replace(oned):
    one = pyone.OneServer(oned.endpoint, session=oned.session)
    _populate(oned)
    one.datastore.update(100, 'BRIDGE_LIST = "alpha"', 1)
    tmpl = one.datastore.info(100).TEMPLATE
    assert (tmpl["BRIDGE_LIST"], tmpl["LINSTOR_STORAGE_POOL"]) == ("alpha", "open_system")
    one.datastore.update(100, 'BRIDGE_LIST = "bravo"', 0)
    tmpl = one.datastore.info(100).TEMPLATE
    assert tmpl["BRIDGE_LIST"] == "bravo" and "LINSTOR_STORAGE_POOL" not in tmpl
    assert tmpl["TM_MAD"] == "linstor" and tmpl["TYPE"] == "SYSTEM_DS"  # oned re-adds them


def test_template_parser_follows_oned_syntax():
    text = (DOUBLE_PATH.parents[1] / "fixtures" / "one" / "linstor_guide_system_ds.conf").read_text()
    assert oned_double.parse_template(text) == [
        ("NAME", "linstor_system_auto_place"), ("TM_MAD", "linstor"), ("TYPE", "SYSTEM_DS"),
        ("LINSTOR_AUTO_PLACE", "2"), ("LINSTOR_STORAGE_POOL", "open_system"),
        ("BRIDGE_LIST", "alpha bravo charlie delta")]
    assert oned_double.parse_template(
        '# comment\nnote = "say \\"hi\\" \\\\ x"\nempty =\nv = [ a = "1",\n b = 2 ]\n') == [
        ("NOTE", 'say "hi" \\\\ x'), ("EMPTY", ""), ("V", {"A": "1", "B": "2"})]
    for bad in ('A = "x]]>"', "= 1", 'A "x"', "A = [ B = 1"):
        with pytest.raises(oned_double.TemplateSyntaxError):
            oned_double.parse_template(bad)


def test_standalone_server_prints_endpoint_and_serves():
    proc = subprocess.Popen(
        [sys.executable, str(DOUBLE_PATH), "--port", "0", "--password", "pw",
         "--vm", "web=PROLOG"],
        stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"OnedDouble listening on (http://127\.0\.0\.1:\d+/RPC2)\n", line)
        assert match, line
        one = pyone.OneServer(match.group(1), session="oneadmin:pw")
        assert one.system.version() == "6.10.0"
        assert [v.LCM_STATE for v in one.vmpool.info(-2, -1, -1, -1).VM] == [1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ------------------------------------------------------------------ answers of real oned
REAL = __import__("json").loads(
    (REPO / "test" / "fixtures" / "one" / "oned-6.10.5_responses.json").read_text())["calls"]
_REAL_CASES = [
    "ds_alloc_backup_missing_attrs", "ds_alloc_system_ds_mad", "ds_alloc_bad_disk_type",
    "ds_alloc_unknown_tm", "ds_alloc_unknown_ds", "ds_alloc_no_name", "ds_alloc_dup_name",
    "ds_alloc_bad_cluster", "ds_info_missing", "ds_update_type_2", "ds_update_type_neg",
    "host_alloc_1char", "host_alloc_empty", "host_alloc_space", "host_alloc_long",
    "host_alloc_bad_cluster", "host_update_type_2", "host_info_missing", "host_delete_missing",
    "cluster_alloc_empty", "cluster_alloc_dup", "cluster_update_type_2",
    "cluster_delete_default", "cluster_addhost_missing", "cluster_info_missing",
    "vm_recover_missing", "vm_recover_bad_op", "market_info_missing", "market_enable_missing",
]


@pytest.mark.parametrize("case", _REAL_CASES)
def test_refusals_answer_like_real_oned(oned, raw, case):
    """Each request as sent to real oned 6.10.5: the double answers the same (code, text,
    resp_id). Hosts "ab" / "node_1" / "node1.example.org" exist first, as they did there."""
    for name in ("ab", "node_1", "node1.example.org"):
        raw("one.host.allocate", name, "dummy", "dummy", -1)
    real = REAL[case]
    assert raw(real["method"], *real["args"]) == real["response"], case


@pytest.mark.parametrize("case", ["host_alloc_2char", "host_alloc_underscore",
                                  "host_alloc_dots", "cluster_alloc_1char",
                                  "ds_alloc_system_block", "ds_alloc_backup_rsync",
                                  "ds_update_type_merge", "host_update_replace",
                                  "market_enable_same", "market_enable_on", "market_enable_off"])
def test_accepted_like_real_oned(oned, raw, case):
    """What real oned accepts (1-character cluster names, 2..63-character host names,
    SYSTEM_DS with DISK_TYPE BLOCK, a BACKUP_DS, update types 0 and 1) the double accepts."""
    if case.startswith("host_update"):
        raw("one.host.allocate", "ab", "dummy", "dummy", -1)
    real = REAL[case]
    got = raw(real["method"], *real["args"])
    assert got[0] is True and real["response"][0] is True, got


def test_backup_ds_stored_like_real_oned(oned, raw):
    """A BACKUP_DS: TYPE 3, TM_MAD "-", no DISK_TYPE/SHARED/LN_TARGET in the template (real
    oned's one.datastore.info after the same allocate), TYPE kept on update."""
    real = REAL["ds_alloc_backup_rsync"]
    oid = raw(real["method"], *real["args"])[1]
    want = etree.fromstring(REAL["ds_info_backup_rsync"]["response"][1].encode())
    got = etree.fromstring(raw("one.datastore.info", oid)[1].encode())
    for tag in ("TYPE", "DS_MAD", "TM_MAD", "DISK_TYPE"):
        assert got.findtext(tag) == want.findtext(tag), tag
    assert {e.tag: e.text for e in got.find("TEMPLATE")} == \
        {e.tag: e.text for e in want.find("TEMPLATE")}
    assert raw("one.datastore.update", oid, 'TYPE="IMAGE_DS"\nRSYNC_HOST="h2"', 1)[0]
    assert etree.fromstring(raw("one.datastore.info", oid)[1].encode()).findtext("TYPE") == "3"


def test_unknown_method_is_an_xmlrpc_fault_like_real_oned(oned):
    with pytest.raises(xmlrpc.client.Fault) as err:
        xmlrpc.client.ServerProxy(oned.endpoint).one.nonexistent.call(oned.session)
    assert [err.value.faultCode, err.value.faultString] == REAL["unknown_method"]["response"][1:]


def test_no_leader_after_a_raft_start(oned, raw):
    """Like real oned right after a Raft start: system.version and writes "no leader found",
    pool reads answer; then a leader."""
    oned.elect_leader_after(30)
    real = __import__("json").loads((REPO / "test" / "fixtures" / "one" /
                                     "oned-6.10.5_responses.json").read_text())
    no_leader = real["raft"]["start_server_id_0_timeline"][1][1][2]
    assert raw("one.system.version") == no_leader
    assert raw("one.hostpool.info")[0] is True
    assert raw("one.cluster.allocate", "x")[1].endswith("no leader found")
    oned.elect_leader_after(0)
    assert raw("one.system.version") == [True, oned.version, 0]


def test_bootstrap_marketplaces_like_real_oned(oned, raw):
    """The marketplaces a fresh oned 6.10.5 creates (names, ids, drivers, descriptions, pool
    order newest first), and one.market.enable's answers: the id, STATE 0/1, and an XML-RPC
    fault when the flag is not a boolean."""
    want = etree.fromstring(REAL["marketpool_info_after_disable"]["response"][1].encode())
    got = etree.fromstring(raw("one.marketpool.info")[1].encode())

    def rows(pool):
        return [(m.findtext("ID"), m.findtext("NAME"), m.findtext("MARKET_MAD"),
                 {e.tag: e.text for e in m.find("TEMPLATE")}) for m in pool]
    assert rows(got) == rows(want)
    assert [m.findtext("STATE") for m in got] == ["1", "0"]  # fresh: Public enabled
    assert raw("one.market.enable", 0, False) == [True, 0, 0]
    got = etree.fromstring(raw("one.marketpool.info")[1].encode())
    assert [m.findtext("STATE") for m in got] == [m.findtext("STATE") for m in want]
    real = REAL["market_enable_int"]
    with pytest.raises(xmlrpc.client.Fault) as err:
        raw(real["method"], *real["args"])
    assert [err.value.faultCode, err.value.faultString] == real["response"][1:]
