"""storage.linstor rendered per role and HA stack by the real `salt-call --local
state.show_sls` (the LINSTOR guide): controller minion (the one writer), the other front-end,
hypervisor, dedicated storage server; pacemaker (controller is a cluster resource: installed
everywhere on the front-ends, disabled, objects last, VIP) vs raft (one controller, running)."""
import pytest

from conftest import deep_merge, example_pillar, show_sls

pytestmark = pytest.mark.render


def ls_pillar(stack="pacemaker", **storage):
    p = example_pillar()
    p["cluster"]["storage_servers"] = {"stor01": {"san": "192.168.100.41"}}
    p["opennebula"]["ha"]["stack"] = stack
    if stack == "raft":
        p["cluster"]["frontends"]["cloud-cc03"] = {"san": "192.168.100.13", "lan": "10.10.11.23"}
        p["opennebula"]["db"]["replication"] = "none"
    return deep_merge(p, {"storage": deep_merge({"variant": "linstor"}, storage)})


def show(salt_call, minion, pillar):
    out = {}
    for sid, body in show_sls(salt_call, minion, pillar, "storage.linstor").items():
        mod = next(k for k in body if not k.startswith("__"))
        args = {"mod": mod}
        for item in body[mod]:
            if isinstance(item, dict):
                args.update(item)
            else:
                args["fun"] = item
        out[sid] = args
    return out


def objects(st):
    return sorted(s for s in st if s.startswith(("storage-linstor-node-", "storage-linstor-pool-",
                                                  "storage-linstor-resource-group", "storage-linstor-controller-api")))


def test_pacemaker_controller_minion_is_the_writer(salt_call):
    st = show(salt_call, "cloud-cc01", ls_pillar())
    svc = st["storage-linstor-controller-service"]
    assert (svc["fun"], svc["name"]) == ("disabled", "linstor-controller")  # Pacemaker runs it
    assert st["storage-linstor-controller-package"]["pkgs"] == ["linstor-controller", "linstor-client"]
    # the OpenNebula driver: LINBIT's package by default (storage:linstor:driver_source '')
    assert st["storage-linstor-driver-package"]["pkgs"] == ["linstor-opennebula"]
    assert not [s for s in st if s.startswith("storage-linstor-driver-") and s != "storage-linstor-driver-package"]
    assert st["storage-linstor-satellite-service"]["fun"] == "running"
    assert st["storage-linstor-satellite-package"]["pkgs"] == ["linstor-satellite", "drbd-utils", "drbd-dkms"]
    nodes = {s: a for s, a in st.items() if s.startswith("storage-linstor-node-")}
    assert {a["name"]: (a["address"], a["node_type"]) for a in nodes.values()} == {
        "cloud-cc01": ("192.168.100.11", "Combined"), "cloud-cc02": ("192.168.100.12", "Combined"),
        "cloud-01": ("192.168.100.31", "Satellite"), "cloud-02": ("192.168.100.32", "Satellite"),
        "stor01": ("192.168.100.41", "Satellite"),
    }
    pools = [a for s, a in st.items() if s.startswith("storage-linstor-pool-")]
    assert len(pools) == 2 * 5
    assert {(a["name"], a["driver_pool"]) for a in pools} == {
        ("open_system", "linstorpool/thin_system"), ("open_image", "linstorpool/thin_image")}
    # the controller moves with ha_group: every LINSTOR state goes to the storage VIP, last
    for sid in objects(st)[1:]:
        assert st[sid]["controllers"] == "linstor://192.168.100.10", sid
        assert st[sid]["order"] == "last", sid
    assert st["storage-linstor-controller-api"]["name"] == "http://192.168.100.10:3370/v1/controller/version"
    rg = st["storage-linstor-resource-group"]
    assert (rg["name"], rg["place_count"], rg["storage_pool"]) == ("one_rg", 2, ["open_image", "open_system"])
    assert rg["properties"] == {"DrbdOptions/auto-quorum": "suspend-io"}


def test_pacemaker_other_frontend_installs_controller_but_writes_nothing(salt_call):
    st = show(salt_call, "cloud-cc02", ls_pillar())
    assert st["storage-linstor-controller-service"]["fun"] == "disabled"
    assert objects(st) == []


def test_raft_single_controller_running_and_pool_nodes(salt_call):
    pillar = ls_pillar("raft", linstor={
        "pools": {"open_image": {"nodes": ["cloud-01", "stor01"]}},
        "node_names": {"cloud-01": "cloud-01.san.local"},
    })
    st = show(salt_call, "cloud-cc01", pillar)
    assert st["storage-linstor-controller-service"]["fun"] == "running"
    assert st["storage-linstor-node-cloud-01.san.local"]["address"] == "192.168.100.31"
    assert st["storage-linstor-node-cloud-cc01"]["order"] != "last"
    assert st["storage-linstor-node-cloud-cc01"]["controllers"] == "linstor://192.168.100.11"
    image = sorted(a["node"] for s, a in st.items() if s.startswith("storage-linstor-pool-open_image-"))
    assert image == ["cloud-01.san.local", "stor01"]
    # raft: cc02 runs oned (driver + CLI) but not the controller
    st2 = show(salt_call, "cloud-cc02", pillar)
    assert st2["storage-linstor-controller-package"]["pkgs"] == ["linstor-client"]
    assert st2["storage-linstor-driver-package"]["pkgs"] == ["linstor-opennebula"]
    assert "storage-linstor-controller-service" not in st2 and objects(st2) == []


def test_hypervisor_and_storage_server_are_satellites_only(salt_call):
    pillar = ls_pillar(linstor={"controllers": ["linstor://10.9.9.9:3370", "linstor://10.9.9.8"]})
    for minion in ("cloud-01", "stor01"):
        st = show(salt_call, minion, pillar)
        assert sorted(st) == ["storage-linstor-satellite-client-conf", "storage-linstor-satellite-package",
                              "storage-linstor-satellite-service"], minion
        ctx = st["storage-linstor-satellite-client-conf"]["context"]
        assert ctx["controllers"] == "linstor://10.9.9.9:3370,linstor://10.9.9.8"


def test_driver_from_a_salt_source_replaces_the_package(salt_call):
    """storage:linstor:driver_source salt://<dir>: datastore/ and tm/ into oned's remotes, the
    python package next to each, python-linstor instead of linstor-opennebula; only on
    front-ends."""
    pillar = ls_pillar(linstor={"driver_source": "salt://addon-linstor-v3.0.5/"})
    st = show(salt_call, "cloud-cc02", pillar)
    assert st["storage-linstor-driver-package"]["pkgs"] == ["python-linstor"]
    for kind in ("datastore", "tm"):
        rec = st[f"storage-linstor-driver-{kind}"]
        assert (rec["fun"], rec["name"], rec["source"], rec["file_mode"]) == (
            "recurse", f"/var/lib/one/remotes/{kind}/linstor", f"salt://addon-linstor-v3.0.5/{kind}", "keep")
        py = st[f"storage-linstor-driver-{kind}-python"]
        assert (py["name"], py["source"]) == (
            f"/var/lib/one/remotes/{kind}/linstor/one", "salt://addon-linstor-v3.0.5/one")
    assert not [s for s in show(salt_call, "cloud-01", pillar) if s.startswith("storage-linstor-driver-")]
