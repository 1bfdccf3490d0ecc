"""Render matrix: {storage variant} x {HA stack} x {role}, each rendered by a real
`salt-call --local state.show_highstate` (private config dir) from pillar.example-derived
pillars. Asserts the state ids each combination must have and must not have."""
import pytest

from conftest import example_pillar

VARIANTS = ["ssh", "nfs", "drbd_aoe_lvm", "moosefs", "linstor"]
STACKS = ["pacemaker", "rgmanager", "raft", "none"]
ROLE_MINION = {"frontend": "cloud-cc01", "hypervisor": "cloud-01", "storage_server": "stor01"}


def matrix_pillar(variant, stack):
    p = example_pillar()
    p["storage"]["variant"] = variant
    p["opennebula"]["ha"]["stack"] = stack
    p["cluster"]["storage_servers"] = {"stor01": {"san": "192.168.100.41"}}
    p["storage"]["moosefs"]["chunkservers"] = ["cloud-01", "cloud-02", "stor01"]
    if stack == "raft":
        p["cluster"]["frontends"]["cloud-cc03"] = {"san": "192.168.100.13", "lan": "10.10.11.23"}
        p["opennebula"]["db"]["replication"] = "none"
    if stack == "none":
        for fe in ["cloud-cc02"]:
            p["cluster"]["frontends"].pop(fe)
            p["cluster"].get("bonds", {}).pop(fe, None)
        p["opennebula"]["db"]["replication"] = "none"
    if stack == "rgmanager":
        # rgmanager's service carries one IP resource: the lan VIP
        p["cluster"]["vips"].pop("san")
    p["storage"]["nfs"]["server"] = "stor01"
    return p


def expected(variant, stack, role):
    """(prefixes that must be present, prefixes that must be absent)."""
    present = ["opennebula-host-hosts-"]
    absent = [f"storage-{v}-" for v in VARIANTS if v != variant]
    if role == "frontend":
        present += ["opennebula-oneadmin-user", "opennebula-package-frontend", f"storage-{variant}-"]
        absent += ["opennebula-node-"]
        (present if stack == "pacemaker" else absent).append("pacemaker-package-installed")
        (present if stack == "rgmanager" else absent).append("opennebula-ha-rgmanager-")
        (present if stack == "raft" else absent).append("opennebula-ha-raft-")
        (present if variant == "drbd_aoe_lvm" else absent).append("drbd-")
    elif role == "hypervisor":
        present += ["opennebula-node-", "opennebula-oneadmin-user"]
        absent += ["pacemaker-", "drbd-", "opennebula-package-frontend", "opennebula-ha-"]
        if variant != "ssh":
            present.append(f"storage-{variant}-")
    else:
        absent += ["pacemaker-", "drbd-", "opennebula-package-frontend", "opennebula-ha-", "opennebula-node-"]
        serves = variant in ["nfs", "moosefs", "linstor"]
        (present if serves else absent).append(f"storage-{variant}-")
    return present, absent


COMBOS = [
    (v, s, r)
    for v in VARIANTS
    for s in STACKS
    for r in ROLE_MINION
    if not (v == "drbd_aoe_lvm" and s != "pacemaker")
]


@pytest.mark.render
@pytest.mark.parametrize("variant,stack,role", COMBOS, ids=["-".join(c) for c in COMBOS])
def test_render(salt_call, variant, stack, role):
    grains = {"os_family": "RedHat", "os": "CentOS"} if stack == "rgmanager" else None
    salt_call.configure(minion_id=ROLE_MINION[role], pillar=matrix_pillar(variant, stack), grains=grains)
    proc, data = salt_call.run("state.show_highstate", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    ids = sorted(data["local"])
    present, absent = expected(variant, stack, role)
    for prefix in present:
        assert any(i.startswith(prefix) for i in ids), f"no state id starting {prefix!r} in {ids}"
    for prefix in absent:
        assert not any(i.startswith(prefix) for i in ids), f"unexpected {prefix!r} in {ids}"
