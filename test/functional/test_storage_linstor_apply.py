"""storage.linstor (the LINSTOR guide) applied by the real `salt-call --local state.apply` on the
controller minion against the loopback LINSTOR REST double (test/doubles/linstor_double.py),
through our linstor module/states and the real python-linstor client.

Packages and services are off (storage:lookup:linstor manage_packages/manage_services:
false, LINSTOR is not installable here); linstor-client.conf goes to a private path.
Asserts: 4 nodes (front-ends Combined, hypervisors Satellite) at their storage addresses,
2 pools x 4 satellites on the LINSTOR guide's lvm-thin backing pools, the resource group with
place_count, storage pools and the DRBD options; the second apply changes nothing and sends
no write request. A satellite-only minion renders no LINSTOR object state at all.
"""

import pytest

from conftest import deep_merge, example_pillar, load_double



NODES = {
    "cloud-cc01": ("192.168.100.11", "COMBINED"),
    "cloud-cc02": ("192.168.100.12", "COMBINED"),
    "cloud-01": ("192.168.100.31", "SATELLITE"),
    "cloud-02": ("192.168.100.32", "SATELLITE"),
}
POOLS = {"open_system": "linstorpool/thin_system", "open_image": "linstorpool/thin_image"}


@pytest.fixture
def double():
    with load_double("linstor_double").LinstorRestDouble() as dbl:
        yield dbl


def linstor_pillar(tmp_path, controllers, **storage):
    return deep_merge(example_pillar(), {
        # satellites = the LINSTOR guide's 2 front-ends + 2 hypervisors
        "cluster": {"storage_servers": None},
        "storage": deep_merge({
            "variant": "linstor",
            "linstor": {"controllers": controllers, "place_count": 3,
                        "drbd_options": {"DrbdOptions/Net/protocol": "C"}},
            "lookup": {"linstor": {
                "manage_packages": False,
                "manage_services": False,
                "client_conf": str(tmp_path / "linstor-client.conf"),
                "api_wait": 10,
                "api_wait_interval": 1,
            }},
        }, storage),
    })


def results(data):
    assert isinstance(data.get("local"), dict), data
    return {sid.split("_|-")[1]: r for sid, r in data["local"].items()}


def test_controller_apply_then_idempotent(salt_call, tmp_path, double):
    salt_call.configure(minion_id="cloud-cc01", pillar=linstor_pillar(tmp_path, double.url))
    proc, data = salt_call.run("state.apply", "storage.linstor", check=False)
    res = results(data)
    bad = {sid: r["comment"] for sid, r in res.items() if r["result"] is not True}
    assert not bad, bad

    # nodes: address + type
    assert set(double.nodes) == set(NODES)
    for name, (address, node_type) in NODES.items():
        node = double.nodes[name]
        assert node["type"] == node_type
        assert node["net_interfaces"][0]["address"] == address
    # pools: 2 x every satellite, on the LINSTOR guide's backing pools
    for node in NODES:
        for pool, backing in POOLS.items():
            got = double.pools[node][pool]
            assert got["provider_kind"] == "LVM_THIN"
            assert got["props"]["StorDriver/StorPoolName"] == backing
    assert sum(len(p) for p in double.pools.values()) == len(NODES) * (len(POOLS) + 1)  # + DfltDisklessStorPool
    # resource group: place_count 3 -> auto-quorum suspend-io by default, + pillar options
    rg = double.resource_groups["one_rg"]
    assert rg["select_filter"]["place_count"] == 3
    assert sorted(rg["select_filter"]["storage_pool_list"]) == sorted(POOLS)
    assert rg["props"] == {"DrbdOptions/auto-quorum": "suspend-io", "DrbdOptions/Net/protocol": "C"}
    assert (tmp_path / "linstor-client.conf").read_text().splitlines()[-1] == f"controllers={double.url}"
    changed = {sid for sid, r in res.items() if r["changes"]}
    assert len([s for s in changed if s.startswith("storage-linstor-pool-")]) == 8
    assert len([s for s in changed if s.startswith("storage-linstor-node-")]) == 4

    # second apply: zero changes, zero writes
    double.reset_requests()
    proc, data = salt_call.run("state.apply", "storage.linstor", check=False)
    res = results(data)
    assert all(r["result"] is True for r in res.values()), res
    assert [sid for sid, r in res.items() if r["changes"]] == []
    assert double.writes() == []
    assert double.count("GET") > 0  # the states did read the controller


def test_satellite_minion_writes_nothing(salt_call, tmp_path, double):
    salt_call.configure(minion_id="cloud-01", pillar=linstor_pillar(tmp_path, double.url))
    proc, data = salt_call.run("state.apply", "storage.linstor", check=False)
    res = results(data)
    assert all(r["result"] is True for r in res.values()), res
    assert sorted(res) == ["storage-linstor-satellite-client-conf"]
    assert double.requests == []
