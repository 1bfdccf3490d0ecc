"""storage.moosefs rendered per role by the real `salt-call --local state.show_sls`
(the storage-architectures guide): master, metalogger, chunkserver (+client on a hypervisor),
client only, dedicated storage server (chunkserver, no mount). The metalogger config is applied
for real into a private directory and read back."""
import pytest

from conftest import deep_merge, example_pillar, show_sls

pytestmark = pytest.mark.render


def mfs_pillar(**storage):
    p = example_pillar()
    p["cluster"]["storage_servers"] = {"stor01": {"san": "192.168.100.41"}}
    return deep_merge(p, {"storage": deep_merge({
        "variant": "moosefs",
        "moosefs": {"chunkservers": ["cloud-01", "stor01"]},
    }, storage)})


def show(salt_call, minion, pillar, sls="storage.moosefs"):
    out = {}
    for sid, body in show_sls(salt_call, minion, pillar, sls).items():
        mod = next(k for k in body if not k.startswith("__"))
        args = {}
        for item in body[mod]:
            if isinstance(item, dict):
                args.update(item)
            else:
                args["fun"] = item
        out[sid] = dict(args, mod=mod)
    return out


def ids(states, role):
    return sorted(s for s in states if s.startswith(f"storage-moosefs-{role}-"))


def test_master_frontend(salt_call):
    st = show(salt_call, "cloud-cc01", mfs_pillar(moosefs={"cgiserv": True}))
    assert ids(st, "master") == sorted([
        "storage-moosefs-master-package", "storage-moosefs-master-cgiserv-package",
        "storage-moosefs-master-cgiserv-service", "storage-moosefs-master-conf-dir",
        "storage-moosefs-master-data-dir", "storage-moosefs-master-cfg",
        "storage-moosefs-master-exports", "storage-moosefs-master-metadata",
        "storage-moosefs-master-service",
    ])
    assert not ids(st, "metalogger") and not ids(st, "chunkserver")
    # the master is also a client, and the one goal/owner writer
    assert {"storage-moosefs-client-goal", "storage-moosefs-client-owner"} <= set(st)
    assert st["storage-moosefs-client-goal"]["argv"] == ["mfssetgoal", "-r", "2", "/var/lib/one/datastores"]
    assert st["storage-moosefs-client-goal"]["unless"] == [
        {"fun": "moosefs.has_goal", "args": ["/var/lib/one/datastores", 2]}]
    assert st["storage-moosefs-master-service"]["name"] == "moosefs-master"
    assert st["storage-moosefs-master-service"]["reload"] is True
    meta = st["storage-moosefs-master-metadata"]
    assert (meta["mod"], meta["fun"]) == ("moosefs", "metadata_present")
    assert meta["name"] == "/var/lib/mfs" and meta["source"] == "/var/lib/mfs/metadata.mfs.empty"
    assert {"moosefs": "storage-moosefs-master-metadata"} in st["storage-moosefs-master-service"]["require"]
    assert st["storage-moosefs-master-cfg"]["context"]["moosefs"]["listen_host"] == "192.168.100.11"
    assert st["storage-moosefs-master-cgiserv-service"]["name"] == "moosefs-cgiserv"


def test_metalogger_config_applied(salt_call, tmp_path):
    pillar = mfs_pillar(lookup={"moosefs": {
        "conf_dir": str(tmp_path / "etc"), "data_dir": str(tmp_path / "data"),
        "manage_packages": False, "manage_services": False}})
    salt_call.configure(minion_id="cloud-cc02", pillar=pillar)
    proc, data = salt_call.run("state.apply", "storage.moosefs.metalogger")
    assert all(r["result"] for r in data["local"].values()), data
    cfg = (tmp_path / "etc" / "mfsmetalogger.cfg").read_text()
    # under pacemaker too: the master's own address, not the san VIP (the master does not move)
    assert "MASTER_HOST = 192.168.100.11\n" in cfg and "MASTER_PORT = 9419" in cfg
    assert f"DATA_PATH = {tmp_path / 'data'}" in cfg


def test_metalogger_frontend(salt_call):
    st = show(salt_call, "cloud-cc02", mfs_pillar())
    assert ids(st, "metalogger") == sorted([
        "storage-moosefs-metalogger-package", "storage-moosefs-metalogger-conf-dir",
        "storage-moosefs-metalogger-data-dir", "storage-moosefs-metalogger-cfg",
        "storage-moosefs-metalogger-service",
    ])
    assert not ids(st, "master") and not ids(st, "chunkserver")
    assert "storage-moosefs-client-mounted" in st and "storage-moosefs-client-goal" not in st


def test_chunkserver_hypervisor(salt_call):
    st = show(salt_call, "cloud-01", mfs_pillar(moosefs={"hdds": ["/srv/mfs/a", "*/srv/mfs/b -5GiB"]}))
    assert "storage-moosefs-chunkserver-hdd-/srv/mfs/a" in st
    assert "storage-moosefs-chunkserver-hdd-/srv/mfs/b" in st
    assert st["storage-moosefs-chunkserver-hdd-/srv/mfs/b"]["user"] == "mfs"
    assert st["storage-moosefs-chunkserver-cfg"]["context"]["address"] == "192.168.100.31"
    fstab = st["storage-moosefs-client-fstab"]
    assert (fstab["name"], fstab["fs_file"], fstab["fs_vfstype"], fstab["match_on"]) == (
        "192.168.100.11:9421:/", "/var/lib/one/datastores", "moosefs", "name")
    assert st["storage-moosefs-client-mounted"]["unless"] == [
        {"fun": "moosefs.is_mounted", "path": "/var/lib/one/datastores"}]
    assert not ids(st, "master") and "storage-moosefs-client-goal" not in st


def test_client_only_hypervisor_and_master_host_override(salt_call):
    st = show(salt_call, "cloud-02", mfs_pillar(moosefs={"master_host": "mfsmaster.san.local"}))
    assert not ids(st, "chunkserver") and not ids(st, "master") and not ids(st, "metalogger")
    assert ids(st, "client") == sorted([
        "storage-moosefs-client-package", "storage-moosefs-client-mountpoint",
        "storage-moosefs-client-fstab", "storage-moosefs-client-mounted",
        "storage-moosefs-client-mountpoint-empty-dirs",
    ])
    assert st["storage-moosefs-client-fstab"]["name"] == "mfsmaster.san.local:9421:/"
    # OpenNebula's packages leave empty datastores/0 and /1 under the mount point (mfsmount
    # refuses a non-empty one): only empty directories go, only while nothing is mounted
    empty = st["storage-moosefs-client-mountpoint-empty-dirs"]
    assert empty["argv"] == ["find", "/var/lib/one/datastores", "-mindepth", "1", "-depth",
                                     "-type", "d", "-empty", "-delete"]
    assert empty["unless"] == [{"fun": "moosefs.is_mounted", "path": "/var/lib/one/datastores"}]
    # the mount point is made only while nothing is mounted there (never a stat of the mount)
    point = st["storage-moosefs-client-mountpoint"]
    assert point["argv"] == ["mkdir", "-p", "--", "/var/lib/one/datastores"]
    assert point["unless"] == [{"fun": "moosefs.is_mounted", "path": "/var/lib/one/datastores"}]
    assert point["creates"] == "/var/lib/one/datastores"
    assert {"argv": "storage-moosefs-client-mountpoint-empty-dirs"} in st["storage-moosefs-client-mounted"]["require"]


def test_dedicated_storage_server_is_chunkserver_only(salt_call):
    st = show(salt_call, "stor01", mfs_pillar())
    assert ids(st, "chunkserver") and not ids(st, "client") and not ids(st, "master")
