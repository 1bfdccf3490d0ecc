"""opennebula front-end SLS through the real `salt-call --local`:

* opennebula.config APPLIED into a tmp dir (lookup overrides the paths, owner root): oned.conf
  per storage variant carries the drivers that variant needs (the LINSTOR guide's linstor lines
  verbatim), the DB password stays out of salt-call's output, a second apply changes nothing;
  raft: FEDERATION SERVER_ID per front-end + RAFT block + VIP hooks.
* opennebula.proxy APPLIED (self-signed certificate made by openssl, lighttpd/nginx config);
  the lighttpd config checked by the real `lighttpd -tt` when lighttpd is installed.
* opennebula.service / opennebula.db / opennebula.ha.raft / opennebula.register rendered
  (state.show_sls): services per stack, replication settings per front-end, guards.
"""
import json
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

from conftest import REPO, deep_merge, example_pillar, require_tools, show_sls

DB_PASSWORD = "test-only-db-password"
# OpenNebula 7.4.0's src/monitor/etc/monitord.conf, its NETWORK block
MONITORD_CONF = """NETWORK = [
    ADDRESS         = "::",
    MONITOR_ADDRESS = "auto",
    PORT    = 4124,
    THREADS = 8,
    PUBKEY  = "",
    PRIKEY  = ""
]
"""
ONE_AUTH = "oneadmin:test-only-one-auth"


def local_pillar(tmp_path, variant="drbd_aoe_lvm", stack="pacemaker", **over):
    """pillar.example (+ test secrets) with every path of the front-end SLS under tmp_path."""
    p = example_pillar()
    p["storage"]["variant"] = variant
    p["opennebula"]["ha"]["stack"] = stack
    if stack == "raft":
        p["cluster"]["frontends"]["cloud-cc03"] = {"san": "192.168.100.13", "lan": "10.10.11.23"}
        p["opennebula"]["db"]["replication"] = "none"
        # the package's monitord.conf (7.4.0's NETWORK block), which raft edits in place
        (tmp_path / "etc/one").mkdir(parents=True, exist_ok=True)
        (tmp_path / "etc/one/monitord.conf").write_text(MONITORD_CONF)
    if stack == "none":
        p["cluster"]["frontends"].pop("cloud-cc02")
        (p["cluster"].get("bonds") or {}).pop("cloud-cc02", None)
        p["opennebula"]["db"]["replication"] = "none"
    if variant == "nfs":
        p["cluster"]["storage_servers"] = {"stor01": {"san": "192.168.100.41"}}
        p["storage"]["nfs"]["server"] = "stor01"
    p = deep_merge(p, {"opennebula": {
        "install_packages": False,
        "oneadmin": {"group": "root", "home": str(tmp_path / "home")},
        "lookup": {
            "oned_conf": str(tmp_path / "etc/one/oned.conf"),
            "monitord_conf": str(tmp_path / "etc/one/monitord.conf"),
            "oneadmin_user": "root",
            "proxy": {
                "cert_dir": str(tmp_path / "ssl"),
                "pkgs": {"lighttpd": [], "nginx": []},
                "conf": {"lighttpd": str(tmp_path / "lighttpd/60-opennebula.conf"),
                         "nginx": str(tmp_path / "nginx/opennebula.conf")},
                "default_site": {"nginx": str(tmp_path / "nginx/sites-enabled/default")},
            },
        },
    }})
    return deep_merge(p, over)


def apply(salt_call, sls, minion="cloud-cc01", pillar=None):
    salt_call.configure(minion_id=minion, pillar=pillar)
    proc, data = salt_call.run("state.apply", sls, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    rets = data["local"]
    assert all(r["result"] is True for r in rets.values()), json.dumps(rets, indent=1)[-4000:]
    return proc, rets


def show(salt_call, sls, minion="cloud-cc01", pillar=None, grains=None):
    return show_sls(salt_call, minion, pillar, sls, grains)


def args(high, sid):
    """{arg: value} of one state id from state.show_sls."""
    chunk = high[sid]
    fun = next(k for k in chunk if not k.startswith("__"))
    out = {"_fun": f"{fun}.{next(a for a in chunk[fun] if isinstance(a, str))}"}
    for a in chunk[fun]:
        if isinstance(a, dict):
            out.update(a)
    return out


def oned_value(text, vector, attr):
    m = re.search(r"^" + vector + r"\s*=\s*\[(.*?)\]", text, re.S | re.M)
    assert m, f"no {vector} in oned.conf"
    v = re.search(r"\b" + attr + r'\s*=\s*(?:"([^"]*)"|([^",\s]+))', m.group(1))
    return (v.group(1) if v.group(1) is not None else v.group(2)) if v else None


def driver_lists(text):
    tm = oned_value(text, "TM_MAD", "ARGUMENTS")
    ds = re.search(r'DATASTORE_MAD\s*=\s*\[.*?ARGUMENTS\s*=\s*"([^"]*)"', text, re.S).group(1)
    tm_d = re.search(r"-d (\S+)", tm).group(1).split(",")
    ds_d = re.search(r"-d (\S+)", ds).group(1).split(",")
    ds_s = re.search(r"-s (\S+)", ds).group(1).split(",")
    return tm_d, ds_d, ds_s


# LINBIT's driver 2.x/3.x: the LINSTOR guide's TM_MAD_CONF (what the driver's own test data
# shows oned copied into a linstor image datastore: TM_MAD_SYSTEM ssh,shared, LN/CLONE targets
# NONE/SELF, DISK_TYPE BLOCK), DS_MIGRATE written out; 7.4 also the live/snapshot flags
LINSTOR_TM_CONF = {
    "6.10": """TM_MAD_CONF = [
    NAME = "linstor", LN_TARGET = "NONE", CLONE_TARGET = "SELF", SHARED = "YES",
    ALLOW_ORPHANS = "YES", DS_MIGRATE = "YES",
    TM_MAD_SYSTEM = "ssh,shared", LN_TARGET_SSH = "NONE", CLONE_TARGET_SSH = "SELF",
    DISK_TYPE_SSH = "BLOCK", LN_TARGET_SHARED = "NONE", CLONE_TARGET_SHARED = "SELF",
    DISK_TYPE_SHARED = "BLOCK"
]""",
    "7.4": """TM_MAD_CONF = [
    NAME = "linstor", LN_TARGET = "NONE", CLONE_TARGET = "SELF", SHARED = "YES",
    ALLOW_ORPHANS = "YES", DS_MIGRATE = "YES", DS_LIVE_MIGRATE = "NO", DS_MIGRATE_SNAP = "NO",
    TM_MAD_SYSTEM = "ssh,shared", LN_TARGET_SSH = "NONE", CLONE_TARGET_SSH = "SELF",
    DISK_TYPE_SSH = "BLOCK", LN_TARGET_SHARED = "NONE", CLONE_TARGET_SHARED = "SELF",
    DISK_TYPE_SHARED = "BLOCK"
]""",
}
LINSTOR_GUIDE_DS_CONF = """DS_MAD_CONF = [
    NAME = "linstor", REQUIRED_ATTRS = "BRIDGE_LIST", PERSISTENT_ONLY = "NO", MARKETPLACE_ACTIONS = "export"
]"""

VARIANT_DRIVERS = {  # variant -> (TM -d, DATASTORE -d, DATASTORE -s) it must have
    "ssh": (["ssh"], ["fs"], ["ssh"]),
    "nfs": (["shared"], ["fs"], ["shared"]),
    "moosefs": (["shared"], ["fs"], ["shared"]),
    "drbd_aoe_lvm": (["fs_lvm", "lvm"], ["fs", "lvm"], ["fs_lvm"]),
    "linstor": (["linstor"], ["linstor"], ["linstor"]),
}
# 7.4: oned bootstraps system/default/files with TM_MAD local; the ssh variant registers local
VARIANT_DRIVERS_BY_VERSION = {
    "6.10": VARIANT_DRIVERS,
    "7.4": dict(VARIANT_DRIVERS, ssh=(["local"], ["fs"], ["local"])),
}
# written on 6.10 only (removed in 7.x) / on 7.4 only (files/oned-conf-versions.md)
ONLY_6_10 = ["DEFAULT_CDROM_DEVICE_PREFIX", "IMPORTED_VMS_ACTIONS", 'NAME = "ebtables"',
             "VCENTER_", "HOST_ENCRYPTED_ATTR", "PROVISION/PACKET_TOKEN"]
ONLY_7_4 = ["GRPC_PORT", "GRPC_LISTEN_ADDRESS", "MASTER_ONED_GRPC", "SCHED_MAD", "DS_LIVE_MIGRATE",
            "DS_MIGRATE_SNAP", "MAC_GLOBAL_SPACE", "CONTEXT_RESTRICTED_DIRS",
            'VM_RESTRICTED_ATTR = "NIC/VLAN_TAGGED_ID"', 'DATASTORE_ENCRYPTED_ATTR = "NETAPP_PASS"',
            'DATASTORE_ENCRYPTED_ATTR = "PUREFA_API_TOKEN"']
# in both, as each release's stock file has them (the formula's list lacked them)
STOCK_BOTH = ['VM_ENCRYPTED_ATTR = "CONTEXT/PASSWORD"', 'USER_ENCRYPTED_ATTR = "SSH_PRIVATE_KEY"',
              'VM_RESTRICTED_ATTR = "NIC_ALIAS/MAC"', 'DATASTORE_ENCRYPTED_ATTR = "RESTIC_PASSWORD"']


def top_value(text, attr):
    m = re.search(r"^" + attr + r'\s*=\s*(?:"([^"]*)"|(\S+))', text, re.M)
    return (m.group(1) if m.group(1) is not None else m.group(2)) if m else None


def check_version_lines(text, version, tm_d, ds_s):
    """What opennebula:version changes in oned.conf."""
    mine, other = (ONLY_7_4, ONLY_6_10) if version == "7.4" else (ONLY_6_10, ONLY_7_4)
    assert [w for w in mine if w not in text] == []
    assert [w for w in other if w in text] == []
    assert [w for w in STOCK_BOTH if w not in text] == []
    if version == "7.4":
        assert "local" in tm_d and "local" in ds_s
        assert re.search(r'TM_MAD_CONF = \[\s*NAME = "local"', text)
        # gRPC bound like XML-RPC
        assert top_value(text, "GRPC_LISTEN_ADDRESS") == top_value(text, "LISTEN_ADDRESS")
        assert top_value(text, "GRPC_PORT") == "2634"
        assert oned_value(text, "SCHED_MAD", "ARGUMENTS") == "-t 15 -p rank -o one_drs"
        assert {a: top_value(text, a) for a in ["SCHED_MAX_WND_TIME", "SCHED_MAX_WND_LENGTH",
                "MAX_ACTIONS_PER_HOST", "MAX_ACTIONS_PER_CLUSTER", "ACTION_TIMEOUT"]} == {
            "SCHED_MAX_WND_TIME": "10", "SCHED_MAX_WND_LENGTH": "7", "MAX_ACTIONS_PER_HOST": "1",
            "MAX_ACTIONS_PER_CLUSTER": "30", "ACTION_TIMEOUT": "300"}
        # every TM_MAD_CONF but the LINSTOR guide's lines says whether it live-migrates
        for m in re.finditer(r"^TM_MAD_CONF = \[(.*?)\]", text, re.S | re.M):
            if 'name = "linstor"' not in m.group(1):
                assert "DS_LIVE_MIGRATE" in m.group(1) and "DS_MIGRATE_SNAP" in m.group(1), m.group(1)
    else:
        assert "local" not in tm_d + ds_s


VARIANT_STACK = {"ssh": "none", "nfs": "raft", "moosefs": "pacemaker",
                 "drbd_aoe_lvm": "pacemaker", "linstor": "pacemaker"}


# --------------------------------------------------------------------------- oned.conf
@pytest.mark.render
@pytest.mark.parametrize("version", ["7.4", "6.10"])
@pytest.mark.parametrize("variant", list(VARIANT_DRIVERS))
def test_oned_conf_drivers_per_variant(salt_call, tmp_path, variant, version):
    pillar = local_pillar(tmp_path, variant, VARIANT_STACK[variant])
    pillar["opennebula"]["version"] = version
    proc, rets = apply(salt_call, "opennebula.config", pillar=pillar)
    conf = tmp_path / "etc/one/oned.conf"
    text = conf.read_text()
    tm_d, ds_d, ds_s = driver_lists(text)
    need_tm, need_ds, need_sys = VARIANT_DRIVERS_BY_VERSION[version][variant]
    check_version_lines(text, version, tm_d, ds_s)
    assert set(need_tm) <= set(tm_d) and set(need_ds) <= set(ds_d) and set(need_sys) <= set(ds_s)
    assert oned_value(text, "VM_MAD", "NAME") == "kvm"
    assert oned_value(text, "IM_MAD", "NAME") == "monitord"
    if variant == "linstor":
        # the LINSTOR guide: linstor appended to TM_MAD -d and to both DATASTORE_MAD lists
        assert tm_d[-1] == "linstor" and ds_d[-1] == "linstor" and ds_s[-1] == "linstor"
        assert LINSTOR_TM_CONF[version] in text
        assert LINSTOR_GUIDE_DS_CONF in text
    else:
        assert "linstor" not in tm_d + ds_d + ds_s
        assert 'NAME = "linstor"' not in text and 'name = "linstor"' not in text
    # every TM driver the variant uses has its TM_MAD_CONF (oned refuses datastores otherwise)
    for tm in need_tm:
        assert re.search(r'TM_MAD_CONF = \[\s*name = "%s"' % tm, text, re.I), tm
    # the mysql DB: password in the file, file 0640 root:<group>, nothing of it in the output
    assert oned_value(text, "DB", "BACKEND") == "mysql"
    assert oned_value(text, "DB", "PASSWD") == DB_PASSWORD
    assert oct(conf.stat().st_mode & 0o777) == "0o640"
    assert DB_PASSWORD not in proc.stdout + proc.stderr
    assert ONE_AUTH not in proc.stdout + proc.stderr
    one_auth = tmp_path / "home/.one/one_auth"
    assert one_auth.read_text().strip() == ONE_AUTH
    assert oct(one_auth.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "home/.one").stat().st_mode & 0o777) == "0o700"
    if variant == "drbd_aoe_lvm" and version == "7.4":
        # second apply: nothing changes, still no password in the output
        proc2, rets2 = apply(salt_call, "opennebula.config", pillar=pillar)
        assert {k: v["changes"] for k, v in rets2.items() if v["changes"]} == {}
        assert DB_PASSWORD not in proc2.stdout + proc2.stderr


@pytest.mark.render
def test_oned_conf_sqlite_single_frontend(salt_call, tmp_path):
    pillar = local_pillar(tmp_path, "ssh", "none")
    pillar["opennebula"]["db"]["backend"] = "sqlite"
    apply(salt_call, "opennebula.config", pillar=pillar)
    text = (tmp_path / "etc/one/oned.conf").read_text()
    assert oned_value(text, "DB", "BACKEND") == "sqlite"
    assert "PASSWD" not in text
    assert oned_value(text, "FEDERATION", "SERVER_ID") == "-1"
    assert "RAFT_LEADER_HOOK" not in text


@pytest.mark.render
def test_raft_server_ids_differ_and_hooks_move_the_vips(salt_call, tmp_path):
    pillar = local_pillar(tmp_path, "ssh", "raft", opennebula={"ha": {"raft": {
        "vip_interfaces": {"lan": "eth1"}, "election_timeout_ms": 3000}}})
    seen = {}
    for fe in ["cloud-cc01", "cloud-cc02", "cloud-cc03"]:
        apply(salt_call, "opennebula.config", minion=fe, pillar=pillar)
        text = (tmp_path / "etc/one/oned.conf").read_text()
        seen[fe] = oned_value(text, "FEDERATION", "SERVER_ID")
        assert oned_value(text, "FEDERATION", "MODE") == "STANDALONE"
        assert oned_value(text, "RAFT", "ELECTION_TIMEOUT_MS") == "3000"
        assert oned_value(text, "RAFT", "BROADCAST_TIMEOUT_MS") == "500"
        assert oned_value(text, "RAFT", "XMLRPC_TIMEOUT_MS") == "1000"
        hooks = "eth1 10.10.11.12/24 eth0 192.168.100.10/24"
        assert oned_value(text, "RAFT_LEADER_HOOK", "ARGUMENTS") == "leader " + hooks
        assert oned_value(text, "RAFT_FOLLOWER_HOOK", "ARGUMENTS") == "follower " + hooks
    assert seen == {"cloud-cc01": "0", "cloud-cc02": "1", "cloud-cc03": "2"}


@pytest.mark.render
def test_raft_zone_built_the_guides_way_one_frontend_at_a_time(salt_call, tmp_path):
    """The first front-end adds itself while solo (bootstrap); every other one joins through
    the leader (oneraft.joined: peers, the lower SERVER_IDs it waits for) before its oned
    starts; every front-end then waits to be a member (opennebula.ha.raft)."""
    pillar = local_pillar(tmp_path, "ssh", "raft")
    first = show(salt_call, "opennebula.ha.raft", pillar=pillar)
    boot = args(first, "opennebula-service-oned-raft-bootstrap")
    assert (boot["zone_id"], boot["server_name"], boot["server_rpc"]) == (
        0, "cloud-cc01", "http://192.168.100.11:2633/RPC2")
    assert "opennebula-service-oned-raft-join" not in first
    assert not any(i.startswith("opennebula-ha-raft-zone-server-") for i in first)
    member = args(first, "opennebula-ha-raft-member")
    assert (member["_fun"], member["name"], member["endpoint"]) == (
        "oneraft.member", "cloud-cc01", "http://192.168.100.11:2633/RPC2")
    third = show(salt_call, "opennebula.ha.raft", minion="cloud-cc03", pillar=pillar)
    assert "opennebula-service-oned-raft-bootstrap" not in third
    join = args(third, "opennebula-service-oned-raft-join")
    assert join["_fun"] == "oneraft.joined"
    assert (join["server_name"], join["server_id"], join["rpc"]) == (
        "cloud-cc03", 2, "http://192.168.100.13:2633/RPC2")
    assert join["peers"] == {"cloud-cc01": "http://192.168.100.11:2633/RPC2",
                             "cloud-cc02": "http://192.168.100.12:2633/RPC2"}
    assert join["lower"] == ["cloud-cc01", "cloud-cc02"]
    assert join["overwrite"] is False and join["wait"] == 900
    assert {"file": "opennebula-oneadmin-ssh-private-key"} in join["require"]
    oned = args(third, "opennebula-service-oned")
    assert {"oneraft": "opennebula-service-oned-raft-join"} in oned["require"]
    second = show(salt_call, "opennebula.ha.raft", minion="cloud-cc02", pillar=deep_merge(
        pillar, {"opennebula": {"ha": {"raft": {"overwrite_follower_db": True}}}}))
    join2 = args(second, "opennebula-service-oned-raft-join")
    assert join2["lower"] == ["cloud-cc01"] and join2["overwrite"] is True


@pytest.mark.render
def test_raft_monitord_address_is_the_vip_and_fireedge_key_exact(salt_call, tmp_path):
    pillar = local_pillar(tmp_path, "ssh", "raft")
    apply(salt_call, "opennebula.config", minion="cloud-cc02", pillar=pillar)
    mon = (tmp_path / "etc/one/monitord.conf").read_text()
    assert 'MONITOR_ADDRESS = "192.168.100.10",' in mon and 'ADDRESS         = "::"' in mon
    key = (tmp_path / "home/.one/fireedge_key").read_bytes()
    assert key == b"test-only-fireedge-key-32-charsx"  # 32 bytes, no newline: AES-256
    assert oct((tmp_path / "home/.one/fireedge_key").stat().st_mode & 0o777) == "0o600"
    # oneadmin's mysql/mysqldump credentials for the zone join: never on a command line
    cnf = tmp_path / "home/.my.cnf"
    assert cnf.read_text().splitlines()[-3:] == [
        "user     = oneadmin", f"password = {DB_PASSWORD}", "host     = localhost"]
    assert oct(cnf.stat().st_mode & 0o777) == "0o600"
    _, rets = apply(salt_call, "opennebula.config", minion="cloud-cc02", pillar=pillar)
    assert not [r for r in rets.values() if r["changes"]]
    assert "test-only-fireedge" not in json.dumps(rets) and DB_PASSWORD not in json.dumps(rets)
    high = show(salt_call, "opennebula.service", minion="cloud-cc02", pillar=pillar)
    assert {"file": "opennebula-config-monitord-address"} in args(high, "opennebula-service-oned")["watch"]


# --------------------------------------------------------------------------- services
@pytest.mark.render
@pytest.mark.parametrize("version", ["7.4", "6.10"])
def test_services_disabled_under_pacemaker_never_started(salt_call, tmp_path, version):
    pillar = local_pillar(tmp_path)
    pillar["opennebula"]["version"] = version
    high = show(salt_call, "opennebula.service", pillar=pillar)
    svc = {sid: args(high, sid) for sid in high if "service" in high[sid]}
    want = {"opennebula": "service.disabled", "opennebula-fireedge": "service.disabled",
            "lighttpd": "service.disabled"}
    if version == "6.10":  # 7.4: scheduler inside oned, no Ruby Sunstone
        want.update({"opennebula-scheduler": "service.disabled",
                     "opennebula-sunstone": "service.disabled"})
    assert {a["name"]: a["_fun"] for a in svc.values()} == want
    assert "opennebula-service-oned-ready" not in high
    assert "opennebula-service-oned-raft-bootstrap" not in high


@pytest.mark.render
@pytest.mark.parametrize("stack", ["raft", "none"])
def test_services_enabled_and_running_under_raft_and_none(salt_call, tmp_path, stack):
    high = show(salt_call, "opennebula.service", pillar=local_pillar(tmp_path, "ssh", stack))
    oned = args(high, "opennebula-service-oned")
    assert (oned["_fun"], oned["name"], oned["enable"]) == ("service.running", "opennebula", True)
    assert {"file": "opennebula-config-oned"} in oned["watch"]
    proxy = args(high, "opennebula-service-proxy")
    assert (proxy["_fun"], proxy["name"], proxy["enable"]) == ("service.running", "lighttpd", True)
    ready = args(high, "opennebula-service-oned-ready")
    # API-level: oned answers one.system.version (raft: a leader is elected), not a port check
    assert ready["_fun"] == "one.oned_ready" and ready["timeout"] == 60
    assert {"service": "opennebula-service-oned"} in ready["require"]
    assert not any(sid.endswith("-disabled") for sid in high)
    boot = "opennebula-service-oned-raft-bootstrap"
    if stack == "raft":
        b = args(high, boot)
        assert (b["_fun"], b["name"], b["service"]) == (
            "one.raft_bootstrapped", str(tmp_path / "etc/one/oned.conf"), "opennebula")
        assert {"one": boot} in oned["require"]
        follower = show(salt_call, "opennebula.service", minion="cloud-cc02",
                        pillar=local_pillar(tmp_path, "ssh", stack))
        assert boot not in follower
    else:
        assert boot not in high


# --------------------------------------------------------------------------- database
@pytest.mark.render
def test_db_master_master_per_frontend(salt_call, tmp_path):
    pillar = local_pillar(tmp_path)
    per = {}
    for fe, peer in [("cloud-cc01", "192.168.100.12"), ("cloud-cc02", "192.168.100.11")]:
        high = show(salt_call, "opennebula.db", minion=fe, pillar=pillar)
        per[fe] = args(high, "opennebula-db-replication-conf")["context"]
        start = args(high, "opennebula-db-replication-start")
        assert start["_fun"] == "one.db_replication"
        assert start["name"] == peer and start["user"] == "replicauser"
        # no password on any command line (they are logged): stdin / function arguments only
        for sid in high:
            a = args(high, sid)
            for key in ("name", "argv"):
                assert "test-only-replication-password" not in str(a.get(key, ""))
                assert DB_PASSWORD not in str(a.get(key, ""))
            for key in ("unless", "onlyif"):
                assert all(isinstance(g, dict) for g in a.get(key, []))
        ruser = args(high, "opennebula-db-replication-user")
        assert f"'replicauser'@'{peer}'" in ruser["stdin"]
        assert "REPLICATION SLAVE" in ruser["stdin"]
        assert ruser["stdin"].startswith("SET sql_log_bin = 0;")
        user = args(high, "opennebula-db-user")
        assert user["argv"] == ["mysql", "--protocol=socket", "--socket=/run/mysqld/mysqld.sock",
                                "--user=root"]
        assert user["unless"][0]["fun"] == "one.db_user_granted"
        assert user["unless"][0]["args"] == ["oneadmin", DB_PASSWORD, "opennebula"]
        assert user["output_loglevel"] == "quiet" and user["hide_output"] is True
        assert args(high, "opennebula-db-service")["_fun"] == "service.running"
    assert per["cloud-cc01"] == {"server_id": 10, "offset": 1, "bind_address": "192.168.100.11",
                                 "log_bin": "/var/log/mysql/mysql-bin.log"}
    assert per["cloud-cc02"] == {"server_id": 20, "offset": 2, "bind_address": "192.168.100.12",
                                 "log_bin": "/var/log/mysql/mysql-bin.log"}


@pytest.mark.render
def test_db_single_server_and_sqlite(salt_call, tmp_path):
    high = show(salt_call, "opennebula.db", pillar=local_pillar(tmp_path, "ssh", "raft"))
    assert "opennebula-db-user" in high and "opennebula-db-database" in high
    assert not any("replication" in sid for sid in high)
    p = local_pillar(tmp_path, "ssh", "none")
    p["opennebula"]["db"]["backend"] = "sqlite"
    salt_call.configure(minion_id="cloud-cc01", pillar=p)
    proc, data = salt_call.run("state.show_sls", "opennebula.db", check=False)
    assert not any(str(sid).startswith("opennebula-db-") for sid in (data or {}).get("local") or {})


# --------------------------------------------------------------------------- register guards
@pytest.mark.render
def test_register_targets_one_frontend(salt_call, tmp_path):
    # pacemaker: every front-end renders, each state guarded by the VIP being local
    for fe in ["cloud-cc01", "cloud-cc02"]:
        high = show(salt_call, "opennebula.register", minion=fe, pillar=local_pillar(tmp_path))
        hosts = [sid for sid in high if sid.startswith("opennebula-register-host-")]
        assert hosts == ["opennebula-register-host-cloud-01", "opennebula-register-host-cloud-02"]
        for sid in hosts + ["opennebula-register-datastore-lvm_system"]:
            a = args(high, sid)
            assert a["active_vip"] == "192.168.100.10" and "onlyif" not in a
            assert a["one_auth_file"] == str(tmp_path / "home/.one/one_auth")
            assert a["endpoint"] == "http://127.0.0.1:2633/RPC2"
        lvm = args(high, "opennebula-register-datastore-lvm_system")["template"]
        assert lvm == {"TYPE": "SYSTEM_DS", "TM_MAD": "fs_lvm", "VG_NAME": "one-data",
                       "BRIDGE_LIST": "cloud-cc01 cloud-cc02"}
    # raft: the first front-end only, no guard
    pillar = local_pillar(tmp_path, "nfs", "raft")
    high = show(salt_call, "opennebula.register", pillar=pillar)
    assert "active_vip" not in args(high, "opennebula-register-host-cloud-01")
    high = show(salt_call, "opennebula.register", minion="cloud-cc02", pillar=pillar)
    assert not any(sid.startswith("opennebula-register-") for sid in high)
    # switched off
    off = local_pillar(tmp_path, "ssh", "none", opennebula={"register": {"hosts": False,
                                                                          "datastores": False}})
    salt_call.configure(minion_id="cloud-cc01", pillar=off)
    proc, data = salt_call.run("state.show_sls", "opennebula.register", check=False)
    assert not any(str(s).startswith("opennebula-register-") for s in (data or {}).get("local") or {})


@pytest.mark.render
def test_register_sets_the_listed_marketplaces_only(salt_call, tmp_path):
    high = show(salt_call, "opennebula.register", pillar=local_pillar(tmp_path))
    assert not any(sid.startswith("opennebula-register-marketplace-") for sid in high)
    markets = {"OpenNebula Public": {"enabled": False}, "Linux Containers": {"enabled": True}}
    pillar = local_pillar(tmp_path, opennebula={"register": {"marketplaces": markets}})
    high = show(salt_call, "opennebula.register", pillar=pillar)
    pub = args(high, "opennebula-register-marketplace-OpenNebula-Public")
    assert pub["_fun"] == "one.marketplace_disabled" and pub["name"] == "OpenNebula Public"
    assert pub["active_vip"] == "192.168.100.10"
    assert pub["one_auth_file"] == str(tmp_path / "home/.one/one_auth")
    lxc = args(high, "opennebula-register-marketplace-Linux-Containers")
    assert lxc["_fun"] == "one.marketplace_enabled" and lxc["name"] == "Linux Containers"
    # with hosts and datastores switched off, marketplaces alone still render
    pillar = local_pillar(tmp_path, "ssh", "none", opennebula={"register": {
        "hosts": False, "datastores": False, "marketplaces": markets}})
    high = show(salt_call, "opennebula.register", pillar=pillar)
    assert sorted(s for s in high if s.startswith("opennebula-register-marketplace-")) == [
        "opennebula-register-marketplace-Linux-Containers",
        "opennebula-register-marketplace-OpenNebula-Public"]


# --------------------------------------------------------------------------- proxy
def _proxy_pillar(tmp_path, server, stack="pacemaker"):
    return local_pillar(tmp_path, "ssh" if stack != "pacemaker" else "drbd_aoe_lvm", stack,
                        opennebula={"proxy": {"server": server}})


@pytest.mark.render
def test_lighttpd_proxy_self_signed(salt_call, tmp_path):
    pillar = _proxy_pillar(tmp_path, "lighttpd")
    apply(salt_call, "opennebula.proxy", pillar=pillar)
    conf = (tmp_path / "lighttpd/60-opennebula.conf").read_text()
    assert '$SERVER["socket"] == "10.10.11.12:443"' in conf  # pacemaker: the LAN VIP
    assert '"port" => 9869' in conf
    # plain http (default: redirect) only on the VIP, answering 301 to https
    assert 'server.bind := "10.10.11.12"' in conf and "server.port := 80" in conf
    assert 'url.redirect = ( "" => "https://%1${url.path}${qsa}" )' in conf
    cert, key = tmp_path / "ssl/opennebula.crt", tmp_path / "ssl/opennebula.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    out = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-subject", "-ext",
                          "subjectAltName"], capture_output=True, text=True, check=True).stdout
    assert "CN = cloud-cc.lan.local" in out and "IP Address:10.10.11.12" in out
    before = cert.read_bytes()
    proc, rets = apply(salt_call, "opennebula.proxy", pillar=pillar)
    assert {k: v["changes"] for k, v in rets.items() if v["changes"]} == {}
    assert cert.read_bytes() == before
    if shutil.which("lighttpd"):
        main = tmp_path / "lighttpd.conf"
        main.write_text(
            f'server.document-root = "{tmp_path}"\nserver.port = 8080\n'
            f'server.bind = "127.0.0.1"\ninclude "{tmp_path}/lighttpd/60-opennebula.conf"\n')
        res = subprocess.run(["lighttpd", "-tt", "-f", str(main)], capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "WARNING" not in res.stdout + res.stderr, res.stdout + res.stderr


@require_tools("lighttpd")
def test_lighttpd_accepts_the_generated_config(salt_call, tmp_path):
    """The same check as above, but required (CI installs lighttpd + lighttpd-mod-openssl)."""
    pillar = _proxy_pillar(tmp_path, "lighttpd", "raft")
    apply(salt_call, "opennebula.proxy", pillar=pillar)
    conf = (tmp_path / "lighttpd/60-opennebula.conf").read_text()
    assert '$SERVER["socket"] == "0.0.0.0:443"' in conf  # raft: the VIP moves under it
    # on top of the distro's own main config (Debian: lighttpd.conf + conf-enabled/), as it
    # runs on a front-end; -tt loads the modules and the certificate; unknown keys only warn
    main = tmp_path / "lighttpd.conf"
    base = "/etc/lighttpd/lighttpd.conf"
    main.write_text((f'include "{base}"\n' if pathlib.Path(base).exists() else
                     f'server.document-root = "{tmp_path}"\nserver.port = 8080\n')
                    + f'include "{tmp_path}/lighttpd/60-opennebula.conf"\n')
    res = subprocess.run(["lighttpd", "-tt", "-f", str(main)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "WARNING" not in res.stdout + res.stderr, res.stdout + res.stderr


@pytest.mark.render
def test_nginx_proxy_with_pillar_certificate(salt_call, tmp_path):
    pillar = _proxy_pillar(tmp_path, "nginx", "none")
    pillar["opennebula"]["proxy"]["self_signed"] = False
    proc, rets = apply(salt_call, "opennebula.proxy", pillar=pillar)
    assert "test-only-key" not in proc.stdout + proc.stderr
    conf = (tmp_path / "nginx/opennebula.conf").read_text()
    assert "listen 0.0.0.0:443 ssl;" in conf
    assert "proxy_pass         http://127.0.0.1:9869;" in conf
    assert (tmp_path / "ssl/opennebula.key").read_text().strip() == "test-only-key"
    assert oct((tmp_path / "ssl/opennebula.key").stat().st_mode & 0o777) == "0o600"


@pytest.mark.render
@pytest.mark.parametrize("http", ["redirect", "disabled"])
def test_nginx_plain_http_redirects_or_is_gone(salt_call, tmp_path, http):
    site = tmp_path / "nginx/sites-enabled/default"
    site.parent.mkdir(parents=True)
    site.write_text("server { listen 80 default_server; }\n")  # the distro's placeholder site
    pillar = _proxy_pillar(tmp_path, "nginx", "none")
    pillar["opennebula"]["proxy"]["http"] = http
    proc, rets = apply(salt_call, "opennebula.proxy", pillar=pillar)
    conf = (tmp_path / "nginx/opennebula.conf").read_text()
    assert "listen 0.0.0.0:443 ssl;" in conf
    if http == "redirect":
        assert "listen 0.0.0.0:80;\n    return 301 https://$host$request_uri;" in conf
    else:
        assert ":80" not in conf and "return 301" not in conf
    # the distro's `listen 80 default_server` site would answer instead of the redirect
    assert not site.exists()
    proc, rets = apply(salt_call, "opennebula.proxy", pillar=pillar)
    assert {k: v["changes"] for k, v in rets.items() if v["changes"]} == {}


@pytest.mark.render
def test_highstate_checks_transient_vms_on_front_ends(salt_call, tmp_path):
    """opennebula (the highstate entry) carries opennebula.recover on front-ends: the
    default policy report, guarded to the active front-end; the pillar's policy is passed."""
    high = show(salt_call, "opennebula", pillar=local_pillar(tmp_path))
    rec = args(high, "opennebula-recover-transient")
    assert (rec["_fun"], rec["policy"], rec["include_failed"]) == (
        "one.transient_recovered", "report", False)
    assert rec["active_vip"] == "192.168.100.10"
    high = show(salt_call, "opennebula", pillar=local_pillar(
        tmp_path, opennebula={"recover_transient": "retry"}))
    assert args(high, "opennebula-recover-transient")["policy"] == "retry"


# --------------------------------------------------------------------------- version
@pytest.mark.render
@pytest.mark.parametrize("version", ["7.4", "6.10"])
def test_packages_repo_and_ssh_datastores_follow_the_version(salt_call, tmp_path, version):
    pillar = local_pillar(tmp_path, "ssh", "none", opennebula={"install_packages": True})
    pillar["opennebula"]["version"] = version
    high = show(salt_call, "opennebula.package", pillar=pillar)
    repo = args(high, "opennebula-package-repo")["name"]
    assert f"/repo/{version}/Debian/12 " in repo  # '6.10' stays 6.10 (a string)
    pkgs = args(high, "opennebula-package-frontend")["pkgs"]
    assert "opennebula-fireedge" in pkgs and "opennebula" in pkgs
    assert ("opennebula-sunstone" in pkgs) == (version == "6.10")
    reg = show(salt_call, "opennebula.register", pillar=pillar)
    tm = {sid.rsplit("-", 1)[-1]: args(reg, sid)["template"]["TM_MAD"]
          for sid in reg if sid.startswith("opennebula-register-datastore-")}
    want = "local" if version == "7.4" else "ssh"
    assert tm == {"system": want, "default": want}
    clean = show(salt_call, "opennebula.service.clean", pillar=pillar)
    stopped = {args(clean, sid)["name"] for sid in clean if sid.startswith("opennebula-service-clean-")}
    more = {"opennebula-scheduler", "opennebula-sunstone"} if version == "6.10" else set()
    assert stopped == {"opennebula", "opennebula-fireedge", "lighttpd"} | more


@pytest.mark.render
@pytest.mark.parametrize("minion", ["one-fe1", "one-fe2", "one-fe3", "one-hv1"])
def test_raft_lab_pillar_renders_the_highstate(salt_call, minion):
    """lab/pillar/raft/lab.sls (+ test secrets): the whole `opennebula` SLS renders on every
    lab host; the followers join, the hook takes both VIPs on host0."""
    pillar = yaml.safe_load((REPO / "lab/pillar/raft/lab.sls").read_text())
    pillar["secrets"] = example_pillar()["secrets"]
    pillar["opennebula"]["oneadmin"] = {"ssh_public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITestOnly lab"}
    high = show(salt_call, "opennebula", minion=minion, pillar=pillar)
    join = "opennebula-service-oned-raft-join"
    if minion == "one-fe1":
        assert "opennebula-service-oned-raft-bootstrap" in high and join not in high
    elif minion.startswith("one-fe"):
        assert args(high, join)["lower"] == ["one-fe1", "one-fe2"][: int(minion[-1]) - 1]
    else:
        assert join not in high and "opennebula-ha-raft-member" not in high
    assert "opennebula-service-fireedge" not in high  # lab package: no FireEdge server
