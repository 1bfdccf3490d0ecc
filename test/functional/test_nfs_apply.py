"""storage.nfs applied for real by `salt-call --local` into tmp paths (lookup overrides), no
NFS in the host kernel needed:
* server side (storage.nfs.common + storage.nfs.exports on the dedicated server stor01): the
  exports file is parsed by the REAL exportfs(8) in a private mount namespace (tmp file bound on
  /etc/exports, tmp dir on /var/lib/nfs: the host's export table is never touched), its etab
  line shows the options exportfs accepted; idmapd.conf is read by the real `nfsidmap -d`;
* the whole server SLS (with opennebula.oneadmin, package, service) in test mode;
* client side: fstab entry written by mount.mounted (lookup nfs:mount false: fstab only).
Second apply: zero changes."""
import subprocess

import pytest

from conftest import example_pillar, require_tools

IDMAPD = """[General]

Verbosity = 0
# set your own domain here, if it differs from FQDN minus hostname
# Domain = localdomain

[Mapping]

Nobody-User = nobody
Nobody-Group = nogroup
"""
NFS_COMMON = """# Do you want to start the statd daemon? It is not needed for NFSv4.
NEED_STATD=

# Do you want to start the idmapd daemon? It is only needed for NFSv4.
NEED_IDMAPD=

# Do you want to start the gssd daemon? It is required for Kerberos mounts.
NEED_GSSD=
"""


def nfs_pillar(tmp_path, server="stor01"):
    (tmp_path / "idmapd.conf").write_text(IDMAPD)
    (tmp_path / "nfs-common").write_text(NFS_COMMON)
    (tmp_path / "storage").mkdir(exist_ok=True)
    (tmp_path / "fstab").write_text("# /etc/fstab: static file system information.\n")
    p = example_pillar()
    p["cluster"]["storage_servers"] = {"stor01": {"san": "192.168.100.41"}}
    p["storage"]["variant"] = "nfs"
    p["storage"]["datastores_path"] = str(tmp_path / "datastores")
    p["storage"]["nfs"].update({"server": server, "export_path": str(tmp_path / "storage")})
    p["storage"]["lookup"] = {"nfs": {
        "exports_dir": str(tmp_path / "exports.d"), "idmapd_conf": str(tmp_path / "idmapd.conf"),
        "nfs_common_defaults": str(tmp_path / "nfs-common"), "fstab": str(tmp_path / "fstab"),
        "reload_exports": "", "server_service": "", "mount": False,
    }}
    return p


def apply(salt_call, sls, *extra):
    proc, data = salt_call.run("state.apply", sls, *extra, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return data["local"]


def zero_changes(ret):
    return {k: r["changes"] for k, r in ret.items() if r["changes"]} == {}


def in_namespace(script):
    return subprocess.run(["unshare", "-m", "sh", "-ec", script], capture_output=True, text=True, check=False)


@require_tools("exportfs", "nfsidmap", "unshare")
def test_nfs_server_exports_and_idmapd_real_parsers(salt_call, tmp_path):
    salt_call.configure(minion_id="stor01", pillar=nfs_pillar(tmp_path))
    first = apply(salt_call, "storage.nfs.common,storage.nfs.exports")
    assert all(r["result"] is True for r in first.values()), first

    exports = tmp_path / "exports.d" / "opennebula.exports"
    line = [l for l in exports.read_text().splitlines() if l and not l.startswith("#")]
    assert line == [f"{tmp_path}/storage 192.168.100.0/24(rw,async,no_root_squash,insecure,"
                    "no_subtree_check,anonuid=1001,anongid=1001)"]

    (tmp_path / "varnfs").mkdir()
    res = in_namespace(
        f"mount --bind {tmp_path}/varnfs /var/lib/nfs; mount --bind {exports} /etc/exports; "
        f"exportfs -ra; cat /var/lib/nfs/etab"
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    path, spec = res.stdout.split()
    assert path == f"{tmp_path}/storage"
    client, opts = spec.rstrip(")").split("(")
    opts = opts.split(",")
    assert client == "192.168.100.0/24"
    for o in ["rw", "async", "insecure", "no_root_squash", "no_subtree_check", "anonuid=1001", "anongid=1001"]:
        assert o in opts

    idmapd = (tmp_path / "idmapd.conf").read_text()
    assert idmapd.count("Domain = lan.local") == 1
    res = in_namespace(f"mount --bind {tmp_path}/idmapd.conf /etc/idmapd.conf; nfsidmap -d")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "lan.local"
    assert "NEED_IDMAPD=yes" in (tmp_path / "nfs-common").read_text().splitlines()

    assert zero_changes(apply(salt_call, "storage.nfs.common,storage.nfs.exports"))


def test_nfs_exportfs_rejects_what_the_formula_must_not_write(tmp_path):
    """The real parser check above is meaningful: exportfs fails on a bad option."""
    if not all(subprocess.run(["which", t], capture_output=True).returncode == 0 for t in ["exportfs", "unshare"]):
        pytest.skip("needs exportfs, unshare")
    (tmp_path / "storage").mkdir()
    (tmp_path / "bad").write_text(f"{tmp_path}/storage 192.168.100.0/24(rw,bogus_option)\n")
    (tmp_path / "varnfs").mkdir()
    res = in_namespace(f"mount --bind {tmp_path}/varnfs /var/lib/nfs; mount --bind {tmp_path}/bad /etc/exports; exportfs -ra")
    assert res.returncode != 0 and "unknown keyword" in res.stderr


def test_nfs_server_full_sls_test_mode(salt_call, tmp_path):
    salt_call.configure(minion_id="stor01", pillar=nfs_pillar(tmp_path))
    proc, data = salt_call.run("state.apply", "storage.nfs", "test=True", check=False)
    ret = data["local"]
    assert isinstance(ret, dict), ret
    assert not [k for k, r in ret.items() if r["result"] is False], ret
    ids = {r["__id__"] for r in ret.values()}
    assert {"storage-nfs-server-pkgs", "storage-nfs-server-export-dir", "storage-nfs-server-exports",
            "storage-nfs-common-need-idmapd", "opennebula-oneadmin-user"} <= ids


def test_nfs_client_fstab(salt_call, tmp_path):
    salt_call.configure(minion_id="cloud-01", pillar=nfs_pillar(tmp_path))
    first = apply(salt_call, "storage.nfs")
    assert all(r["result"] is True for r in first.values()), first
    fstab = [l.split() for l in (tmp_path / "fstab").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert fstab == [[f"192.168.100.41:{tmp_path}/storage", f"{tmp_path}/datastores", "nfs4",
                      "rw,_netdev,rsize=1048576,wsize=1048576,auto", "0", "0"]]
    assert (tmp_path / "datastores").is_dir()
    assert zero_changes(apply(salt_call, "storage.nfs"))
