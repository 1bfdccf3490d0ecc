"""storage.nfs / storage.ssh rendered by a real `salt-call --local state.show_sls`: which role
each minion plays, where clients mount from, the export line, the ssh baseline."""
import pytest

from conftest import example_pillar, show_sls, state_arg as arg


def pillar(variant="nfs", server="stor01"):
    p = example_pillar()
    p["storage"]["variant"] = variant
    p["storage"]["nfs"]["server"] = server
    p["cluster"]["storage_servers"] = {"stor01": {"san": "192.168.100.41"}}
    return p


def show(salt_call, minion, p, sls="storage"):
    return show_sls(salt_call, minion, p, sls)


@pytest.mark.render
def test_nfs_dedicated_server(salt_call):
    sls = show(salt_call, "stor01", pillar())
    export = arg(sls["storage-nfs-server-exports"], "context")["export"]
    assert export == {"directory": "/storage", "clientspec": "192.168.100.0/24",
                      "options": ["rw", "async", "no_root_squash", "insecure", "no_subtree_check",
                                  "anonuid=1001", "anongid=1001"]}
    assert arg(sls["storage-nfs-server-exports"], "name") == "/etc/exports.d/opennebula.exports"
    assert arg(sls["storage-nfs-server-exportfs"], "argv") == ["exportfs", "-ra"]
    assert "opennebula-oneadmin-user" in sls and "storage-nfs-client-mount" not in sls
    assert arg(sls["storage-nfs-common-idmapd-domain"], "repl") == "Domain = lan.local"


@pytest.mark.render
@pytest.mark.parametrize("minion", ["cloud-01", "cloud-cc01"])
def test_nfs_clients_of_dedicated_server(salt_call, minion):
    sls = show(salt_call, minion, pillar())
    m = sls["storage-nfs-client-mount"]
    assert arg(m, "device") == "192.168.100.41:/storage"
    assert arg(m, "name") == "/var/lib/one/datastores"
    assert arg(m, "fstype") == "nfs4"
    assert arg(m, "opts") == ["rw", "_netdev", "rsize=1048576", "wsize=1048576", "auto"]
    assert "storage-nfs-server-exports" not in sls


@pytest.mark.render
def test_nfs_on_frontends_is_refused(salt_call):
    """An export from the front-ends with nothing replicating it would lose data on
    failover: the model refuses it and points at drbd_aoe_lvm (the Pacemaker/DRBD guide's HA
    NFS)."""
    p = pillar(server="frontends")
    salt_call.configure(minion_id="cloud-cc01", pillar=p)
    proc, _ = salt_call.run("state.show_highstate", check=False)
    assert proc.returncode != 0
    assert "storage:nfs:server: 'frontends' would export a directory nothing replicates" in proc.stdout
    assert "drbd_aoe_lvm" in proc.stdout


@pytest.mark.render
def test_ssh_baseline(salt_call):
    p = pillar(variant="ssh")
    for minion in ["cloud-cc01", "cloud-01"]:
        d = show(salt_call, minion, p)["storage-ssh-datastores-dir"]
        assert arg(d, "name") == "/var/lib/one/datastores"
        assert arg(d, "user") == "oneadmin" and arg(d, "group") == "cloud"
    assert not [i for i in show(salt_call, "stor01", p) if i.startswith("storage-")]
