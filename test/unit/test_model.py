"""common/model.py imported directly: the typed checker, each schema rule, each
cross-key rule (RULES) and the derived roles. The bad-pillar catalogue (test/render/
test_bad_pillar.py) covers every declared key; these tests pin the checker's behaviour."""
import copy
import importlib.util
import pathlib

import pytest
import yaml

from conftest import REPO, example_pillar

_spec = importlib.util.spec_from_file_location("onehaformula_model_unit", REPO / "common/model.py")
M = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(M)
DEFAULTS = yaml.safe_load((REPO / "common/settings.yaml").read_text())


def build(pillar=None, minion="cloud-cc01", **grains):
    grains = dict(grains, id=minion)
    grains.setdefault("os_family", "Debian")
    return M.build(pillar if pillar is not None else example_pillar(), grains, DEFAULTS)


def errors_of(pillar, **kw):
    return build(pillar, **kw).get("errors") or []


def check(spec, value, path="k"):
    ck = M.Checker()
    ok = ck.check(spec, value, path)
    return ok, ck.errors


# ---- the checker ------------------------------------------------------------------------
@pytest.mark.parametrize("spec,value,expected", [
    (M.Str(M.HOSTNAME_RE, "a valid hostname"), 1234, "k: 1234 is an integer, not a string (quote it)"),
    (M.Str(M.VERSION_RE, "a release"), 6.1, "k: 6.1 is a number with a fraction, not a string (quote it)"),
    (M.Bool(), "no", "k: 'no' is a string, not true or false (write true or false without quotes)"),
    (M.Int(1, 9), True, "k: True is a boolean, not an integer"),
    (M.Int(1, 9), "3", "k: '3' is a string, not an integer"),
    (M.Int(1, 9), 10, "k: 10 is out of range; allowed: an integer 1..9"),
    (M.Int(1, 9), None, "k: is null; allowed: an integer 1..9"),
    (M.OneOf("a", "b"), "c", "k: unknown value 'c'; allowed: a, b"),
    (M.List(M.Int()), "1,2", "k: '1,2' is a string, not a list"),
    (M.Map({"a": M.Int()}), {"b": 1}, "k:b: unknown key; allowed: a under k"),
    (M.Map({"a": M.Int(required=True)}), {}, "k:a: missing"),
    (M.Dict(M.Str(M.NET_RE, "a network name"), M.Int()), {"bad key": 1}, "k:bad key: 'bad key' is not a network name"),
    (M.Dict(M.Str(M.NET_RE, "a network name"), M.Int()), {7: 1}, "k:7: the key 7 is an integer, not a string"),
    (M.Path(), "/", "k: '/' is the root directory"),
    (M.Path(), "/etc/", "k: '/etc/' is a system directory"),
    (M.Path(), "/var/lib/one/../..", "k: '/var/lib/one/../..' is not an absolute path"),
    (M.Scalar(), 1.5, "k: 1.5 is a number with a fraction"),
    (M.Scalar(), "a;b", "k: 'a;b' is not one line of plain text"),
])
def test_checker_refuses(spec, value, expected):
    ok, errors = check(spec, value)
    assert not ok
    assert len(errors) == 1 and errors[0].startswith(expected), errors
    assert "; allowed: " in errors[0]


@pytest.mark.parametrize("spec,value", [
    (M.Str(M.HOSTNAME_RE, "h"), "cloud-cc01.lan.local"),
    (M.Str(M.LABEL_RE, "h", empty=True), ""),
    (M.Int(0, 1048575), 0),
    (M.Bool(), False),
    (M.Path(), "/var/lib/one/datastores"),
    (M.Scalar(), 60), (M.Scalar(), True), (M.Scalar(), "detach"),
    (M.Dict(M.Hostname(), M.Dict(M.NetName(), M.Ipv4(), nullable=True)), {"a": None}),
    (M.Either(M.Ipv4(), M.OneOf("*", "")), "*"),
    (M.Str(M.SSHKEY_RE, "k"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample oneadmin@one-ha"),
    (M.Str(M.LVM_FILTER_RE, "f"), "a|drbd.*|"),
    (M.Str(M.DEVPATH_RE, "d"), "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4-part5"),
])
def test_checker_accepts(spec, value):
    assert check(spec, value) == (True, [])


def test_checker_reports_every_problem_at_once():
    spec = M.Map({"a": M.Int(), "b": M.Bool(), "c": M.List(M.Ipv4())})
    ok, errors = check(spec, {"a": "x", "b": "yes", "c": ["1.2.3.4", "1.2.3", None]})
    assert not ok
    assert [e.split(":")[1] for e in errors] == ["a", "b", "c[1]", "c[2]"]


def test_secret_values_are_masked():
    ok, errors = check(M.Str(M.TEXT_RE, "text", secret=True), "hunter2\n")
    assert not ok and "hunter2" not in errors[0] and "<hidden>" in errors[0]


def test_long_values_are_cut():
    ok, errors = check(M.Str(M.HOSTNAME_RE, "h"), "x!" * 500)
    assert len(errors[0]) < 400


def test_schema_declares_every_key_of_pillar_example():
    """Every key of the contract is declared (an undeclared key is refused as unknown)."""
    ex = example_pillar()
    ck = M.Checker()
    ck.check(M.SCHEMA, {k: ex[k] for k in M.COMPONENTS}, "")
    assert ck.errors == []


def test_schema_paths_lists_wildcards():
    paths = M.schema_paths()
    assert "cluster:frontends:*:*" in paths and "drbd:resources:*:minor" in paths
    assert len(paths) == len(set(paths))


# ---- every pillar the project ships validates --------------------------------------------
@pytest.mark.parametrize("path", ["lab/pillar/lab.sls", "lab/pillar/raft/lab.sls",
                                  "lab/vm/pillar/drbd_aoe_lvm/lab.sls", "lab/vm/pillar/nfs/lab.sls"])
def test_lab_pillars_are_valid(path):
    pillar = yaml.safe_load((REPO / path).read_text())
    pillar["secrets"] = copy.deepcopy(example_pillar()["secrets"])
    for minion in list(pillar["cluster"]["frontends"]) + list(pillar["cluster"]["hypervisors"]):
        assert "errors" not in build(pillar, minion=minion), build(pillar, minion=minion)["errors"]


# ---- cross-key rules, one test each ------------------------------------------------------
def test_rule_networks_host_bits():
    p = example_pillar()
    p["cluster"]["networks"]["lan"] = "10.10.11.5/24"
    assert any(e.startswith("cluster:networks:lan: '10.10.11.5/24' has host bits set") for e in errors_of(p))


def test_rule_nodes_address_outside_network_and_duplicate():
    p = example_pillar()
    p["cluster"]["hypervisors"]["cloud-02"] = {"san": "192.168.100.31"}
    p["cluster"]["hypervisors"]["cloud-03"] = {"san": "192.168.200.33"}
    errs = errors_of(p)
    assert any(e.startswith("cluster:hypervisors:cloud-02:san: duplicate address 192.168.100.31 (also cloud-01)") for e in errs)
    assert any(e.startswith("cluster:hypervisors:cloud-03:san: 192.168.200.33 is outside san") for e in errs)


def test_rule_vips_equal_node_address():
    p = example_pillar()
    p["cluster"]["vips"]["san"] = "192.168.100.11"
    assert any(e.startswith("cluster:vips:san: 192.168.100.11 is already the address of cloud-cc01") for e in errors_of(p))


@pytest.mark.parametrize("stack,count,expected", [
    ("pacemaker", 1, "cluster:frontends: the pacemaker stack needs at least 2 front-ends, got 1"),
    ("raft", 2, "cluster:frontends: the raft stack needs at least 3 front-ends, got 2"),
    ("none", 2, "cluster:frontends: opennebula:ha:stack none runs exactly 1 front-end, got 2"),
])
def test_rule_stack_frontend_count(stack, count, expected):
    p = example_pillar()
    p["opennebula"]["ha"]["stack"] = stack
    p["opennebula"]["db"]["replication"] = "none"
    p["storage"]["variant"] = "ssh"
    if count == 1:
        del p["cluster"]["frontends"]["cloud-cc02"]
    assert any(e.startswith(expected) for e in errors_of(p))


def test_rule_stack_rgmanager_one_vip_on_redhat():
    p = example_pillar()
    p["opennebula"]["ha"]["stack"] = "rgmanager"
    p["storage"]["variant"] = "ssh"
    assert any(e.startswith("cluster:vips: ['lan', 'san'] are 2 VIPs") for e in errors_of(p, os_family="RedHat"))
    del p["cluster"]["vips"]["san"]
    assert errors_of(p, os_family="RedHat") == []
    assert any(e.startswith("opennebula:ha:stack: rgmanager (cman") for e in errors_of(p))


def test_rule_raft_server_ids_distinct():
    p = example_pillar()
    p["opennebula"]["ha"]["stack"] = "raft"
    p["opennebula"]["db"]["replication"] = "none"
    p["storage"]["variant"] = "ssh"
    p["cluster"]["frontends"]["cloud-cc03"] = {"san": "192.168.100.13", "lan": "10.10.11.23"}
    assert build(p)["raft_server_ids"] == {"cloud-cc01": 0, "cloud-cc02": 1, "cloud-cc03": 2}
    p["opennebula"]["ha"]["raft"]["server_ids"] = {"cloud-cc03": 0}
    assert any(e.startswith("opennebula:ha:raft:server_ids: duplicate SERVER_ID") for e in errors_of(p))


def test_rule_db_master_master_pairs_two():
    p = example_pillar()
    p["cluster"]["frontends"]["cloud-cc03"] = {"san": "192.168.100.13", "lan": "10.10.11.23"}
    p["drbd"]["syntax"] = "9"
    assert any(e.startswith("opennebula:db:replication: master-master pairs exactly 2 front-ends, got 3") for e in errors_of(p))


def test_rule_proxy_ports():
    p = example_pillar()
    p["opennebula"]["proxy"]["http_port"] = 443
    assert any(e.startswith("opennebula:proxy:http_port: 443 is the TLS port too") for e in errors_of(p))
    p["opennebula"]["proxy"]["http"] = "disabled"
    assert errors_of(p) == []


def test_rule_oneadmin_home_is_not_the_datastore_mount():
    p = example_pillar()
    p["storage"]["datastores_path"] = "/var/lib/one/"
    assert any(e.startswith("storage:datastores_path: '/var/lib/one/' is oneadmin's home itself") for e in errors_of(p))


def test_rule_nfs_server_must_be_a_node():
    p = example_pillar()
    p["storage"]["variant"] = "nfs"
    p["storage"]["nfs"]["server"] = "nas9"
    assert any(e.startswith("storage:nfs:server: 'nas9' is not a node of cluster:*") for e in errors_of(p))


def test_rule_moosefs_goal_and_chunkservers():
    p = example_pillar()
    p["storage"]["variant"] = "moosefs"
    p["storage"]["moosefs"]["goal"] = 3
    assert any(e.startswith("storage:moosefs:goal: 3 copies cannot be kept on 2 chunkservers") for e in errors_of(p))


def test_rule_linstor_pool_nodes_are_satellites():
    p = example_pillar()
    p["storage"]["variant"] = "linstor"
    p["storage"]["linstor"]["pools"]["open_system"]["nodes"] = ["cloud-01", "nas9"]
    assert any(e.startswith("storage:linstor:pools:open_system:nodes[1]: 'nas9' is not a LINSTOR node") for e in errors_of(p))


@pytest.mark.parametrize("stack,controllers,san_vip,want", [
    ("pacemaker", "", True, "linstor://192.168.100.10"),  # the storage VIP: moves with ha_group
    ("pacemaker", "", False, "linstor://192.168.100.11,linstor://192.168.100.12"),
    ("none", "", True, "linstor://192.168.100.11"),  # the controller's storage address
    ("pacemaker", ["linstor://10.9.9.9:3370", "linstor+ssl://h"], True,
     "linstor://10.9.9.9:3370,linstor+ssl://h"),
])
def test_linstor_controllers(stack, controllers, san_vip, want):
    """model.linstor_controllers: what the linstor states, linstor-client.conf and the
    datastores' LINSTOR_CONTROLLERS use."""
    p = example_pillar()
    p["storage"]["variant"] = "linstor"
    p["storage"]["linstor"]["controllers"] = controllers
    p["opennebula"]["ha"]["stack"] = stack
    if stack == "none":
        p["cluster"]["frontends"].pop("cloud-cc02")
        (p["cluster"].get("bonds") or {}).pop("cloud-cc02", None)
        p["opennebula"]["db"]["replication"] = "none"
    if not san_vip:
        p["cluster"]["vips"].pop("san")
        p["storage"]["nfs"]["network"] = "lan"
    m = build(p)
    assert "errors" not in m, m.get("errors")
    assert m["linstor_controllers"] == want


def test_rule_drbd_frontend_cannot_be_hypervisor():
    p = example_pillar()
    p["cluster"]["hypervisors"]["cloud-cc02"] = p["cluster"]["frontends"]["cloud-cc02"]
    assert any(e.startswith("cluster:hypervisors:cloud-cc02: is a front-end too") for e in errors_of(p))
    p["storage"]["variant"] = "ssh"
    assert errors_of(p) == []  # ssh (and the shared-FS variants) support it


def test_rule_drbd_duplicate_minor_port_meta():
    p = example_pillar()
    r = p["drbd"]["resources"]
    r["data-disk"].update(minor=1, port=7788, meta_disk="/dev/sda3[0]")
    errs = errors_of(p)
    for key in ["minor", "port", "meta_disk"]:
        assert any(e.startswith(f"drbd:resources:one-disk:{key}: ") or e.startswith(f"drbd:resources:data-disk:{key}: ")
                   for e in errs), (key, errs)


def test_rule_pacemaker_stonith_needs_acknowledgement():
    p = example_pillar()
    p["pacemaker"]["stonith"]["enabled"] = False
    assert any(e.startswith("pacemaker:stonith:enabled: false without") for e in errors_of(p))
    p["pacemaker"]["stonith"]["i_understand_no_fencing"] = True
    assert errors_of(p) == []


def test_rule_hosts_short_names_network():
    p = example_pillar()
    p["cluster"]["hosts"]["short_names"] = "dmz"
    assert any(e.startswith("cluster:hosts:short_names: unknown network 'dmz'") for e in errors_of(p))


def test_rule_bonds_slave_twice():
    p = example_pillar()
    p["cluster"]["bonds"] = {"cloud-cc01": {"bond0": {"slaves": ["eth0", "eth1"], "network": "san"},
                                            "bond1": {"slaves": ["eth1"], "network": "lan"}}}
    assert any(e.startswith("cluster:bonds:cloud-cc01:bond1:slaves: 'eth1' listed twice") for e in errors_of(p))


def test_rule_register_tm_mad_matches_variant():
    p = example_pillar()
    p["opennebula"]["register"]["datastore_templates"] = {"lvm_system": {"TM_MAD": "fs_lvm_ssh"}}
    assert errors_of(p) == []
    p["opennebula"]["register"]["datastore_templates"] = {"lvm_system": {"TM_MAD": "ssh"}}
    assert any(e.startswith("opennebula:register:datastore_templates:lvm_system:TM_MAD: 'ssh' does not match") for e in errors_of(p))


def test_rule_secrets_never_show_the_value():
    p = example_pillar()
    p["secrets"]["one_db_password"] = "CHANGE_ME-but-secret-text"
    p["secrets"]["corosync_authkey"] = "c2hvcnQ="
    errs = errors_of(p)
    assert any(e.startswith("secrets:one_db_password: secret 'one_db_password' is still the example placeholder") for e in errs)
    assert any(e.startswith("secrets:corosync_authkey: the corosync authkey must be base64") for e in errs)
    assert not [e for e in errs if "secret-text" in e or "c2hvcnQ" in e]


def test_rules_are_all_run_and_named():
    assert all(r.__name__.startswith("rule_") for r in M.RULES)
    assert len({r.__name__ for r in M.RULES}) == len(M.RULES)


# ---- the derived model ------------------------------------------------------------------
def test_model_roles_and_keys():
    model = build()
    assert model["roles"] == ["frontend", "storage_server"]
    assert model["frontends"] == ["cloud-cc01", "cloud-cc02"] and model["first_frontend"] == "cloud-cc01"
    assert model["networks"]["san"] == {"base": 3232261120, "size": 256, "cidr": "192.168.100.0/24", "prefix": 24}
    assert model["secret_refs"]["one_auth"] == "secrets:one_auth"
    assert model["settings"]["opennebula"]["proxy"]["backend_port"] == 9869
    hv = build(minion="cloud-01")
    assert hv["roles"] == ["hypervisor"] and not hv["is_frontend"]


def test_model_holds_no_secret_value():
    text = repr(build())
    assert "test-only" not in text and "BEGIN OPENSSH" not in text


def test_model_lookup_and_tofs_are_mappings():
    p = example_pillar()
    p["drbd"]["lookup"] = {"drbd_conf": "/etc/drbd.conf"}
    model = build(p)
    assert model["lookup"]["drbd"] == {"drbd_conf": "/etc/drbd.conf"}
    assert model["lookup"]["storage"] == {} and model["tofs"]["pacemaker"] == {}


def test_run_reads_the_renderer_globals():
    M.pillar_in, M.grains_in, M.defaults_in = example_pillar(), {"id": "cloud-01"}, DEFAULTS
    try:
        assert M.run()["roles"] == ["hypervisor"]
    finally:
        del M.pillar_in, M.grains_in, M.defaults_in


def test_build_never_raises_on_garbage():
    for garbage in [None, [], "x", {"cluster": None, "opennebula": [1], "storage": "s", "drbd": 1.5, "pacemaker": True}]:
        out = M.build(garbage, {"id": "x"}, DEFAULTS)
        assert out.get("errors"), garbage


# ---- the lint that keeps pillar reads in the model ---------------------------------------
def _lint():
    spec = importlib.util.spec_from_file_location("lint_pillar_access", REPO / "test/lint_pillar_access.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("code", [
    '{%- set x = salt["pillar.get"]("drbd:node_names", {}) %}',
    '{{ pillar["cluster"] }}',
    '{%- set t = pillar.cluster.name %}',
    '{{ salt.pillar.get("x") }}',
    '{%- set v = salt["pillar.get"](key ~ ":tofs", {}) %}',
    '{%- set s = salt["defaults.merge"]({}, pillar, in_place=False) %}',
    '{%- for k in pillar %}{% endfor %}',
])
def test_lint_flags_direct_pillar_reads(code):
    assert _lint().problems("x.sls", "a: b\n" + code + "\n")


@pytest.mark.parametrize("code", [
    '{%- set pw = salt["pillar.get"](model.secret_refs.one_db_password, "") %}',
    '{%- set pw = salt["pillar.get"](db.password_pillar, "") | string %}',
    '{#- the pillar.get of old #}\n# pillar.example documents it',
    '    - contents_pillar: {{ model.secret_refs.one_auth }}',
    '{{- raise(path ~ ": change generated ones through pillar/lookup") }}',
])
def test_lint_allows_secret_lookups_by_reference(code):
    assert _lint().problems("x.sls", code) == []


def test_lint_passes_on_the_formula():
    assert [p for f in _lint().formula_files() for p in _lint().problems(f, (REPO / f).read_text())] == []


@pytest.mark.parametrize("spec", [M.Hostname(), M.Ipv4(), M.Path(), M.Text(), M.Iface(),
                                  M.Str(M.MIGRATE_RE, "m"), M.Str(M.SSHKEY_RE, "k")])
def test_patterns_refuse_a_trailing_newline(spec):
    ok, errors = check(spec, {"Hostname": "cloud-01", "Ipv4": "10.0.0.1"}.get("x", "eth0") + "\n")
    assert not ok


@pytest.mark.parametrize("value, secs", [("15s", 15), (15, 15), ("15", 15), ("500ms", 1), ("2m", 120),
                                         ("2min", 120), ("1h", 3600), ("", 0), (None, 0), (0, 0),
                                         ("15 s", 0), (True, 0)])
def test_duration_s(value, secs):
    assert M.duration_s(value) == secs


def _fencing(pillar):
    m = build(pillar)
    return m["fencing_properties"], m["fencing_rsc_defaults"]


def test_fencing_defaults_two_frontends():
    # pillar.example: two front-ends, IPMI fence devices, pcmk_delay_max 15s
    assert _fencing(example_pillar()) == ({"priority-fencing-delay": "30s"}, {"priority": 1})
    p = example_pillar()
    p["pacemaker"]["stonith"]["pcmk_delay_max"] = ""
    assert _fencing(p)[0] == {"priority-fencing-delay": "15s"}
    p["pacemaker"]["stonith"]["priority_fencing_delay"] = 0
    assert _fencing(p) == ({}, {})
    p["pacemaker"]["stonith"]["priority_fencing_delay"] = "1min"
    assert _fencing(p)[0] == {"priority-fencing-delay": "60s"}


def test_fencing_defaults_sbd_stonith_timeout():
    # the VM lab's SBD values: msgwait 30 -> 36 + pcmk_delay_max 15 + priority delay 30,
    # + token 3000 ms and consensus 3600 ms -> 7
    p = example_pillar()
    p["pacemaker"]["stonith"].update(devices={}, sbd={
        "enabled": True, "devices": [{"path": "/dev/disk/by-id/virtio-sbd0"}],
        "watchdog_timeout": 15, "msgwait_timeout": 30})
    assert _fencing(p)[0] == {"priority-fencing-delay": "30s", "stonith-timeout": "88s"}


def test_fencing_defaults_off_without_fencing():
    p = example_pillar()
    p["pacemaker"]["stonith"].update(enabled=False, i_understand_no_fencing=True)
    assert _fencing(p) == ({}, {})


def test_priority_fencing_delay_below_twice_the_random_delay_is_refused():
    p = example_pillar()
    p["pacemaker"]["stonith"]["priority_fencing_delay"] = "20s"
    errs = errors_of(p)
    assert any(e.startswith("pacemaker:stonith:priority_fencing_delay: '20s' is less than twice "
                            "pcmk_delay_max ('15s')") and "a duration >= 30s" in e for e in errs), errs
