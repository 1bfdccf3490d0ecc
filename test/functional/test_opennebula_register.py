"""opennebula.register and opennebula.recover APPLIED by the real `salt-call --local` against
the oned XML-RPC double on a loopback port (endpoint + one_auth_file from the pillar: the
one_auth file is written by opennebula.config in the same run)."""
import json

import pytest

from conftest import deep_merge, example_pillar, load_double

PASSWORD = "S3cr3t-register-pw!"


@pytest.fixture
def oned():
    with load_double("oned_double").OnedDouble(password=PASSWORD) as double:
        yield double


def pillar(tmp_path, oned, variant, **over):
    p = example_pillar()
    p["storage"]["variant"] = variant
    p["opennebula"]["ha"]["stack"] = "none"
    p["opennebula"]["db"]["replication"] = "none"
    p["cluster"]["frontends"].pop("cloud-cc02")
    (p["cluster"].get("bonds") or {}).pop("cloud-cc02", None)
    if variant == "nfs":
        p["cluster"]["storage_servers"] = {"stor01": {"san": "192.168.100.41"}}
        p["storage"]["nfs"]["server"] = "stor01"
    p["secrets"]["one_auth"] = f"oneadmin:{PASSWORD}"
    p = deep_merge(p, {"opennebula": {
        "version": "6.10",  # the double bootstraps 6.10's datastores (TM_MAD ssh; 7.4: local)
        "install_packages": False,
        "endpoint": oned.endpoint,
        "oneadmin": {"group": "root", "home": str(tmp_path / "home")},
        "lookup": {"oned_conf": str(tmp_path / "etc/one/oned.conf"), "oneadmin_user": "root"},
    }})
    return deep_merge(p, over)


def apply(salt_call, sls, p):
    salt_call.configure(minion_id="cloud-cc01", pillar=p)
    proc, data = salt_call.run("state.apply", sls, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    rets = {v["__id__"]: v for v in data["local"].values()}
    assert all(r["result"] is True for r in rets.values()), json.dumps(rets, indent=1)[-4000:]
    assert PASSWORD not in proc.stdout + proc.stderr
    return rets


@pytest.mark.parametrize("variant,attributes", [("linstor", "resource_group"),
                                                ("linstor", "auto_place"), ("nfs", None)])
def test_register_hosts_and_datastores_then_nothing(salt_call, tmp_path, oned, variant, attributes):
    p = pillar(tmp_path, oned, variant)
    if attributes:
        p["storage"]["linstor"]["datastore_attributes"] = attributes
    rets = apply(salt_call, "opennebula.config,opennebula.register", p)
    hosts = {h["name"]: h for h in oned.hosts.values()}
    assert sorted(hosts) == ["cloud-01", "cloud-02"]
    assert all((h["im_mad"], h["vm_mad"]) == ("kvm", "kvm") for h in hosts.values())
    ds = {d["name"]: d for d in oned.datastores.values()}
    if variant == "linstor":
        # model.linstor_satellites: front-ends, hypervisors, storage servers (each sorted)
        satellites = []
        for group in ("frontends", "hypervisors", "storage_servers"):
            satellites += [n for n in sorted(p["cluster"].get(group) or {}) if n not in satellites]
        sys_ds, img = ds["linstor_system_auto_place"], ds["linstor_image_auto_place"]
        assert (sys_ds["type"], sys_ds["tm_mad"]) == (1, "linstor")
        assert (img["type"], img["ds_mad"], img["tm_mad"], img["disk_type"]) == (
            0, "linstor", "linstor", "BLOCK")
        for d, pool in ((sys_ds, "open_system"), (img, "open_image")):
            tmpl = d["template"]
            assert tmpl.get("BRIDGE_LIST") == " ".join(satellites)
            if attributes == "auto_place":  # LINBIT's 1.x driver
                assert (tmpl.get("LINSTOR_AUTO_PLACE"), tmpl.get("LINSTOR_STORAGE_POOL")) == ("2", pool)
                assert tmpl.get("LINSTOR_RESOURCE_GROUP") is None and tmpl.get("COMPATIBLE_SYS_DS") is None
            else:  # 2.x/3.x: the formula's resource group, at the controller's address
                assert (tmpl.get("LINSTOR_AUTO_PLACE"), tmpl.get("LINSTOR_STORAGE_POOL")) == (None, None)
                assert tmpl.get("LINSTOR_RESOURCE_GROUP") == "one_rg"
                assert tmpl.get("LINSTOR_CONTROLLERS") == "linstor://192.168.100.11"
        sys_id = next(i for i, d in oned.datastores.items() if d is sys_ds)
        want_compat = None if attributes == "auto_place" else str(sys_id)
        assert img["template"].get("COMPATIBLE_SYS_DS") == want_compat
    else:
        assert (ds["nfs_system"]["type"], ds["nfs_system"]["tm_mad"]) == (1, "shared")
        assert (ds["nfs_images"]["ds_mad"], ds["nfs_images"]["tm_mad"]) == ("fs", "shared")
    created = sorted(k for k, r in rets.items() if r["changes"] and k.startswith("opennebula-register-"))
    assert len(created) == 4, created
    writes = len(oned.write_calls())
    rets2 = apply(salt_call, "opennebula.config,opennebula.register", p)
    assert {k: r["changes"] for k, r in rets2.items() if r["changes"]} == {}
    assert len(oned.write_calls()) == writes


def test_register_ssh_manages_oned_default_datastores(salt_call, tmp_path, oned):
    rets = apply(salt_call, "opennebula.config,opennebula.register", pillar(tmp_path, oned, "ssh"))
    assert rets["opennebula-register-datastore-system"]["changes"] == {}
    assert rets["opennebula-register-datastore-default"]["changes"] == {}
    assert sorted(d["name"] for d in oned.datastores.values()) == ["default", "files", "system"]


def test_recover_transient_report_then_success(salt_call, tmp_path, oned):
    vm = oned.add_vm("web", "PROLOG_MIGRATE")
    oned.add_vm("db", "RUNNING")
    p = pillar(tmp_path, oned, "ssh")
    rets = apply(salt_call, "opennebula.config,opennebula.recover", p)
    ret = rets["opennebula-recover-transient"]
    assert ret["changes"] == {} and "web" in ret["comment"]
    assert oned.calls_to("one.vm.recover") == []
    p["opennebula"]["recover_transient"] = "success"
    salt_call.configure(minion_id="cloud-cc01", pillar=p)
    proc, data = salt_call.run("state.apply", "opennebula.config,opennebula.recover", "test=True",
                               check=False)
    dry = {v["__id__"]: v for v in data["local"].values()}["opennebula-recover-transient"]
    assert dry["result"] is None and dry["changes"]["recovered"]["new"] == [vm]
    assert oned.calls_to("one.vm.recover") == []
    rets = apply(salt_call, "opennebula.config,opennebula.recover", p)
    assert rets["opennebula-recover-transient"]["changes"] == {
        "recovered": {"old": None, "new": [vm], "policy": "success"}}
    assert oned.calls_to("one.vm.recover") == [(vm, 1)]
    # like oned: recover --success on PROLOG_MIGRATE -> BOOT_MIGRATE, the restore running
    assert oned.vms[vm]["lcm_state"] == load_double("oned_double").LCM["BOOT_MIGRATE"]
    oned.complete_driver_actions()
    rets = apply(salt_call, "opennebula.config,opennebula.recover", p)
    assert rets["opennebula-recover-transient"]["changes"] == {}
