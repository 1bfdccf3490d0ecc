"""pacemaker/ renders (real `salt-call --local state.show_sls`, pillar.example-derived): which
state ids exist per role/stack/variant, the one-CIB-writer rule, `cib:` on every graph state
exactly when pacemaker:lookup:cib is set, and every id under pacemaker/ starting with
`pacemaker-`. Rendered through `opennebula.ha` (what the formula includes) so the stack
selection is the real one."""
import base64

import pytest

from conftest import deep_merge, show_sls
from conftest import example_pillar as _example_pillar

pytestmark = pytest.mark.render


def example_pillar():
    """pillar.example + test secrets, with an authkey of its own (>= 128 bytes for knet)."""
    p = _example_pillar()
    p["secrets"]["corosync_authkey"] = base64.b64encode(bytes(range(200))).decode()
    return p

GRAPH_BASE = ["pacemaker-resources-wait-for-dc", "pacemaker-resources-stage", "pacemaker-resources-push",
              "pacemaker-resources-properties",
              "pacemaker-resources-rsc-defaults", "pacemaker-resources-group-ha_group",
              "pacemaker-resources-primitive-san_ip", "pacemaker-resources-primitive-lan_ip",
              "pacemaker-resources-primitive-OpenNebula", "pacemaker-resources-primitive-lighttpd",
              "pacemaker-resources-stonith-fence_cc01", "pacemaker-resources-stonith-fence_cc02"]
NODE_BASE = ["pacemaker-package-installed", "pacemaker-config-corosync-conf",
             "pacemaker-config-authkey-file", "pacemaker-config-authkey",
             "pacemaker-service-corosync-restart-foreign", "pacemaker-service-corosync-reload",
             "pacemaker-service-authkey-changed-warning",
             "pacemaker-service-corosync-running", "pacemaker-service-pacemaker-running",
             "pacemaker-agents-systemdunit", "pacemaker-agents-dropin-opennebula.service",
             "pacemaker-agents-dropin-lighttpd.service", "pacemaker-agents-daemon-reload"]
VARIANT_EXTRA = {
    "drbd_aoe_lvm": ["pacemaker-resources-primitive-drbd_one", "pacemaker-resources-clone-ms_drbd_one",
                     "pacemaker-resources-primitive-drbd_data", "pacemaker-resources-clone-ms_drbd_data",
                     "pacemaker-resources-primitive-fs_one", "pacemaker-resources-primitive-nfs_server",
                     "pacemaker-resources-primitive-nfs_one", "pacemaker-resources-primitive-aoe_data",
                     "pacemaker-resources-colocation-ha_col", "pacemaker-resources-order-ha_after_drbd"],
    "nfs": [],  # a dedicated NFS server (storage:nfs:server): nothing in the front-end group
    "linstor": ["pacemaker-resources-primitive-linstor_controller",
                "pacemaker-agents-dropin-linstor-controller.service"],
    "moosefs": [],
    "ssh": [],
}


def show(salt_call, pillar, minion_id="cloud-cc01", sls="opennebula.ha", grains=None):
    return show_sls(salt_call, minion_id, pillar, sls, grains)


def args_of(body):
    """{state fun: {arg: value}} of one high-data entry."""
    out = {}
    for key, value in body.items():
        if key.startswith("__"):
            continue
        out[key] = {k: v for item in value if isinstance(item, dict) for k, v in item.items()}
        out[key]["__fun__"] = next(v for v in value if isinstance(v, str))
    return out


@pytest.mark.parametrize("variant", sorted(VARIANT_EXTRA))
def test_frontend_ids_per_variant(salt_call, variant):
    pillar = deep_merge(example_pillar(), {"storage": {"variant": variant}})
    if variant == "nfs":
        pillar = deep_merge(pillar, {"cluster": {"storage_servers": {"nfs01": {"san": "192.168.100.41"}}},
                                     "storage": {"nfs": {"server": "nfs01"}}})
    ids = set(show(salt_call, pillar))
    expected = set(NODE_BASE + GRAPH_BASE + VARIANT_EXTRA[variant])
    assert ids == expected, (sorted(ids - expected), sorted(expected - ids))


def test_service_slots_run_on_the_formula_agent_or_the_systemd_class(salt_call):
    high = show(salt_call, example_pillar())
    prim = args_of(high["pacemaker-resources-primitive-OpenNebula"])["crm"]
    assert (prim["agent"], prim["params"]) == ("ocf:opennebula-ha:SystemdUnit", {"unit": "opennebula"})
    reload_ = args_of(high["pacemaker-agents-daemon-reload"])["argv"]
    assert reload_["argv"] == ["systemctl", "daemon-reload"]
    assert {"file": "pacemaker-agents-dropin-opennebula.service"} in reload_["onchanges"]
    pillar = deep_merge(example_pillar(), {"pacemaker": {"lookup": {"service_agent": "systemd"}}})
    high = show(salt_call, pillar)
    prim = args_of(high["pacemaker-resources-primitive-OpenNebula"])["crm"]
    assert (prim["agent"], prim["params"]) == ("systemd:opennebula", {})
    # Pacemaker's class writes its own drop-ins: only the (unused) agent file is installed
    assert not [sid for sid in high if sid.startswith("pacemaker-agents-")
                and sid != "pacemaker-agents-systemdunit"]


def test_frontend_packages_include_ping(salt_call):
    """opennebula.register's bounded wait pings the VIP held by the other front-end."""
    pkgs = args_of(show(salt_call, example_pillar())["pacemaker-package-installed"])["pkg"]["pkgs"]
    assert "iputils-ping" in pkgs and "crmsh" in pkgs, pkgs


def test_second_frontend_gets_no_graph_but_a_note(salt_call):
    ids = set(show(salt_call, example_pillar(), minion_id="cloud-cc02"))
    assert ids == set(NODE_BASE + ["pacemaker-resources-not-cib-writer"])


def test_cib_writer_can_be_moved(salt_call):
    pillar = deep_merge(example_pillar(), {"pacemaker": {"lookup": {"cib_writer": "cloud-cc02"}}})
    assert "pacemaker-resources-group-ha_group" in show(salt_call, pillar, minion_id="cloud-cc02")
    assert "pacemaker-resources-not-cib-writer" in show(salt_call, pillar, minion_id="cloud-cc01")


@pytest.mark.parametrize("minion_id", ["cloud-01"])
def test_hypervisor_has_no_pacemaker_ids(salt_call, minion_id):
    pillar = example_pillar()
    assert show(salt_call, pillar, minion_id=minion_id) == {}
    assert show(salt_call, pillar, minion_id=minion_id, sls="pacemaker") == {}


@pytest.mark.parametrize("stack", ["raft", "none"])
def test_other_stacks_have_no_pacemaker_ids(salt_call, stack):
    pillar = example_pillar()
    pillar["storage"]["variant"] = "moosefs"
    pillar["opennebula"]["ha"]["stack"] = stack
    pillar["opennebula"]["db"]["replication"] = "none"
    if stack == "raft":
        pillar["cluster"]["frontends"]["cloud-cc03"] = {"san": "192.168.100.13", "lan": "10.10.11.23"}
    else:
        pillar["cluster"]["frontends"].pop("cloud-cc02")
    ids = show(salt_call, pillar)
    assert not [i for i in ids if i.startswith("pacemaker-")], sorted(ids)
    assert show(salt_call, pillar, sls="pacemaker") == {}


def test_short_authkey_fails_the_render(salt_call):
    """corosync/knet refuses keys under 128 bytes: the model rejects them at render time,
    naming the key, without printing it."""
    pillar = _example_pillar()
    short = base64.b64encode(b"y" * 50).decode()
    pillar["secrets"]["corosync_authkey"] = short
    salt_call.configure(minion_id="cloud-cc01", pillar=pillar)
    proc, _ = salt_call.run("state.show_sls", "pacemaker.config", check=False)
    assert proc.returncode != 0
    assert "secrets:corosync_authkey: the corosync authkey must be base64 of at least 128 bytes" in proc.stdout
    assert short not in proc.stdout


def test_every_id_under_pacemaker_starts_with_pacemaker(salt_call):
    ids = show(salt_call, example_pillar(),
               sls="pacemaker,pacemaker.clean,pacemaker.package.clean")
    assert len(ids) > 30
    assert all(i.startswith("pacemaker-") for i in ids), sorted(ids)


STAGED = "/run/opennebula-ha-formula/cib/staged.xml"


def test_offline_cib_is_the_target_of_stage_and_push(salt_call):
    """lookup cib: stage copies that file, the graph edits the copy, push patches the file."""
    pillar = deep_merge(example_pillar(), {"pacemaker": {"lookup": {"cib": "/srv/staging/cib.xml"}}})
    high = show(salt_call, pillar, sls="pacemaker.resources")
    crm = 0
    for sid, body in high.items():
        for mod, args in args_of(body).items():
            if mod == "crm" and args["__fun__"] in ("cib_staged", "cib_pushed"):
                assert args["name"] == "/run/opennebula-ha-formula/cib"
                assert args["cib"] == "/srv/staging/cib.xml", sid
            elif mod == "crm":
                crm += 1
                assert args.get("cib") == STAGED, sid
            if mod == "loop":
                assert args["kwargs"] == {"timeout": 120, "cib": "/srv/staging/cib.xml"}
    assert crm >= 15
    # without staging (lookup stage_dir '') every state writes to the file itself
    pillar = deep_merge(pillar, {"pacemaker": {"lookup": {"stage_dir": ""}}})
    high = show(salt_call, pillar, sls="pacemaker.resources,pacemaker.resources.clean")
    assert "pacemaker-resources-stage" not in high and "pacemaker-resources-push" not in high
    for sid, body in high.items():
        for mod, args in args_of(body).items():
            if mod == "crm":
                assert args.get("cib") == "/srv/staging/cib.xml", sid


def test_live_cluster_graph_is_staged_then_pushed(salt_call):
    high = show(salt_call, example_pillar(), sls="pacemaker.resources")
    for sid, body in high.items():
        for mod, args in args_of(body).items():
            if sid in ("pacemaker-resources-stage", "pacemaker-resources-push"):
                assert "cib" not in args, sid  # the live cluster
            elif mod == "crm":
                assert args["cib"] == STAGED, sid
            if mod == "loop":
                assert args["kwargs"] == {"timeout": 120}


def test_graph_states_form_one_require_chain(salt_call):
    high = show(salt_call, example_pillar(), sls="pacemaker.resources")
    prev = "pacemaker-resources-wait-for-dc"
    chain = [prev]
    follows = {}
    for sid, body in high.items():
        for mod, args in args_of(body).items():
            if mod == "crm":
                (req,) = args["require"]
                follows[req] = sid
    while prev in follows:
        prev = follows[prev]
        chain.append(prev)
    assert len(chain) == 1 + sum(1 for b in high.values() if "crm" in b)
    assert chain.index("pacemaker-resources-stonith-fence_cc02") < chain.index("pacemaker-resources-properties")
    assert chain[1] == "pacemaker-resources-stage"
    assert chain[-4:] == ["pacemaker-resources-group-ha_group", "pacemaker-resources-colocation-ha_col",
                          "pacemaker-resources-order-ha_after_drbd", "pacemaker-resources-push"]


def test_stonith_password_is_a_hidden_param(salt_call):
    high = show(salt_call, example_pillar(), sls="pacemaker.resources")
    args = args_of(high["pacemaker-resources-stonith-fence_cc01"])["crm"]
    assert args["__fun__"] == "stonith_present"
    assert args["hidden_params"] == ["password"]
    assert args["params"]["password"] == "test-only-ipmi"
