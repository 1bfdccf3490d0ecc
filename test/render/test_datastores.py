"""Each storage variant owns its OpenNebula datastores as data (storage/<variant>/datastores.yaml,
resolved by storage/datastores.jinja, registered by opennebula.register): the files are
checked against the model (its DATASTORES table, which opennebula:register:datastore_templates
overrides are validated with, the settings and derived facts they name), and one render shows
that the LINSTOR pools come from the pillar keys, never from the pools' names, and what each
storage:linstor:datastore_attributes mode hands opennebula.register."""
import importlib.util

import pytest
import yaml

from conftest import REPO, deep_merge, example_pillar, show_sls, state_arg

_spec = importlib.util.spec_from_file_location("onehaformula_model_ds", REPO / "common/model.py")
M = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(M)
DEFAULTS = yaml.safe_load((REPO / "common/settings.yaml").read_text())
TYPES = {"SYSTEM_DS", "IMAGE_DS", "FILE_DS"}


def data(variant, name="datastores.yaml"):
    return yaml.safe_load((REPO / "storage" / variant / name).read_text())


# every datastores file: (variant, file); linstor has one per storage:linstor:datastore_attributes
FILES = [(v, "datastores.yaml") for v in M.VARIANTS] + [("linstor", "datastores-auto-place.yaml")]


def traverse(obj, path):
    for key in path.split(":"):
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def test_every_variant_has_its_datastores_file():
    files = sorted(p.parent.name for p in (REPO / "storage").glob("*/datastores.yaml"))
    assert files == sorted(M.VARIANTS)


@pytest.mark.parametrize("variant,fname", FILES)
def test_datastores_match_the_model(variant, fname):
    p = example_pillar()
    p["storage"]["variant"] = variant
    p["cluster"]["storage_servers"] = {"stor01": {"san": "192.168.100.41"}}
    p["storage"]["nfs"]["server"] = "stor01"
    model = M.build(p, {"id": "cloud-cc01", "os_family": "Debian"}, DEFAULTS)
    assert "errors" not in model, model.get("errors")
    dss = data(variant, fname)
    assert sorted(dss) == sorted(M.DATASTORES[variant])
    assert {d["TYPE"] for d in dss.values()} <= TYPES
    assert any(d["TYPE"] == "SYSTEM_DS" for d in dss.values())
    assert any(d["TYPE"] == "IMAGE_DS" for d in dss.values())
    for name, attrs in dss.items():
        tms = attrs["TM_MAD"]
        if isinstance(tms, dict):  # {version: {<opennebula:version>: driver}}: every line has one
            assert sorted(tms) == ["version"] and sorted(tms["version"]) == sorted(M.ONE_VERSIONS), (name, tms)
            tms = tms["version"]
        for tm in (tms.values() if isinstance(tms, dict) else [tms]):
            assert tm in M.DATASTORES[variant][name], (name, tm)
        assert attrs["TYPE"] != "IMAGE_DS" or "DS_MAD" in attrs, name
        for key, value in attrs.items():
            assert key == key.upper(), (name, key)
            if isinstance(value, dict):
                ((kind, path),) = value.items()
                if kind == "version":
                    assert sorted(path) == sorted(M.ONE_VERSIONS), (name, key, value)
                    assert all(isinstance(v, str) for v in path.values()), (name, key, value)
                    continue
                if kind == "datastore":  # another datastore's id, looked up when registering
                    assert path in dss and path != name, (name, key, value)
                    continue
                assert kind in ("setting", "model"), (name, key, value)
                where = model["settings"] if kind == "setting" else model
                assert traverse(where, path) not in (None, ""), (name, key, value)
            else:
                assert isinstance(value, (str, int)) and not isinstance(value, bool), (name, key)


@pytest.mark.render
def test_linstor_pools_come_from_the_pillar_keys(salt_call):
    """Pools whose names say nothing: the datastores use the ones the keys name."""
    p = example_pillar()
    p["opennebula"]["ha"]["stack"] = "none"
    p["opennebula"]["db"]["replication"] = "none"
    p["cluster"]["frontends"].pop("cloud-cc02")
    (p["cluster"].get("bonds") or {}).pop("cloud-cc02", None)
    p = deep_merge(p, {
        "storage": {"variant": "linstor", "linstor": {"place_count": 1, "datastore_attributes": "auto_place", "pools": {
            "open_system": None, "open_image": None,
            "nvme": {"driver": "LVM_THIN", "driver_pool": "vg/nvme"},
            "sata": {"driver": "LVM_THIN", "driver_pool": "vg/sata"}}}},
        "opennebula": {"register": {"linstor_system_pool": "sata", "linstor_image_pool": "nvme",
                                    "datastore_templates": {"linstor_image_auto_place": {"X_NOTE": "y"}}}},
    })
    st = show_sls(salt_call, "cloud-cc01", p, "opennebula.register")
    tmpl = {sid[len("opennebula-register-datastore-"):]: state_arg(body, "template")
            for sid, body in st.items() if sid.startswith("opennebula-register-datastore-")}
    bridges = "cloud-cc01 cloud-01 cloud-02"
    assert tmpl == {
        "linstor_system_auto_place": {"TYPE": "SYSTEM_DS", "TM_MAD": "linstor", "LINSTOR_AUTO_PLACE": 1,
                                      "LINSTOR_STORAGE_POOL": "sata", "BRIDGE_LIST": bridges},
        "linstor_image_auto_place": {"TYPE": "IMAGE_DS", "DS_MAD": "linstor", "TM_MAD": "linstor",
                                     "DISK_TYPE": "BLOCK", "LINSTOR_AUTO_PLACE": 1,
                                     "LINSTOR_STORAGE_POOL": "nvme", "BRIDGE_LIST": bridges,
                                     "X_NOTE": "y"},
    }


def _register_states(salt_call, p):
    st = show_sls(salt_call, "cloud-cc01", p, "opennebula.register")
    return {sid[len("opennebula-register-datastore-"):]: body for sid, body in st.items()
            if sid.startswith("opennebula-register-datastore-")}


@pytest.mark.render
def test_linstor_resource_group_datastores(salt_call):
    """The default (LINBIT's driver 2.x/3.x): both datastores name the resource group the
    formula creates and the controllers every LINSTOR client of the formula uses; the image
    datastore's COMPATIBLE_SYS_DS is the system datastore's id, looked up by the state, which
    runs after the system datastore's; no auto-place attribute is written."""
    p = example_pillar()
    p = deep_merge(p, {"storage": {"variant": "linstor", "linstor": {
        "resource_group": "rg_nebula", "controllers": ["linstor://10.9.8.7:3370", "linstor://10.9.8.6"]}}})
    dss = _register_states(salt_call, p)
    bridges = "cloud-cc01 cloud-cc02 cloud-01 cloud-02"
    ctl = "linstor://10.9.8.7:3370,linstor://10.9.8.6"
    system, image = dss["linstor_system_auto_place"], dss["linstor_image_auto_place"]
    assert state_arg(system, "template") == {
        "TYPE": "SYSTEM_DS", "TM_MAD": "linstor", "LINSTOR_RESOURCE_GROUP": "rg_nebula",
        "LINSTOR_CONTROLLERS": ctl, "BRIDGE_LIST": bridges}
    with pytest.raises(KeyError):
        state_arg(system, "datastore_ids")
    assert state_arg(image, "template") == {
        "TYPE": "IMAGE_DS", "DS_MAD": "linstor", "TM_MAD": "linstor", "DISK_TYPE": "BLOCK",
        "LINSTOR_RESOURCE_GROUP": "rg_nebula", "LINSTOR_CONTROLLERS": ctl, "BRIDGE_LIST": bridges}
    assert state_arg(image, "datastore_ids") == {"COMPATIBLE_SYS_DS": "linstor_system_auto_place"}
    assert {"one": "opennebula-register-datastore-linstor_system_auto_place"} in state_arg(image, "require")


@pytest.mark.render
def test_linstor_controllers_default_to_the_storage_vip(salt_call):
    """No storage:linstor:controllers under pacemaker: the storage VIP, as in
    linstor-client.conf and the linstor states (model.linstor_controllers)."""
    p = example_pillar()
    p["storage"]["variant"] = "linstor"
    p["storage"]["linstor"]["controllers"] = ""
    dss = _register_states(salt_call, p)
    want = f"linstor://{p['cluster']['vips']['san']}"
    for body in dss.values():
        assert state_arg(body, "template")["LINSTOR_CONTROLLERS"] == want
