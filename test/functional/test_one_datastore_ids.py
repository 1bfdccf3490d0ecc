"""one.datastore_present's ``datastore_ids`` (the LINSTOR image datastore's COMPATIBLE_SYS_DS:
the id of the LINSTOR system datastore, known only once oned made it), through Salt's real
loader against OnedDouble, pyone on the wire: resolved in the same run as the creation of the
referenced datastore, idempotent, the upgrade of datastores written with the auto-place
attributes to the resource-group ones, and the refusals."""
import pytest

from functional.test_one_states import GUIDE_DS, conn, oned, run  # noqa: F401  (its fixtures)

SYSTEM, IMAGE = "linstor_system_auto_place", "linstor_image_auto_place"
CTL = "linstor://192.168.100.10"
RG = {"LINSTOR_RESOURCE_GROUP": "one_rg", "LINSTOR_CONTROLLERS": CTL}
SYSTEM_TMPL = dict({"TYPE": "SYSTEM_DS", "TM_MAD": "linstor", "BRIDGE_LIST": "alpha bravo"}, **RG)
IMAGE_TMPL = dict({"TYPE": "IMAGE_DS", "DS_MAD": "linstor", "TM_MAD": "linstor",
                   "DISK_TYPE": "BLOCK", "BRIDGE_LIST": "alpha bravo"}, **RG)
IDS = {"COMPATIBLE_SYS_DS": SYSTEM}


def _pair(run, conn, test=False):
    """The two states in the order opennebula.register runs them (image requires system)."""
    sys_ret = run.state("datastore_present", test=test, name=SYSTEM, template=SYSTEM_TMPL, **conn)
    img_ret = run.state("datastore_present", test=test, name=IMAGE, template=IMAGE_TMPL,
                        datastore_ids=IDS, **conn)
    return sys_ret, img_ret


def test_compatible_sys_ds_is_the_id_of_the_system_datastore_created_in_the_same_run(run, oned, conn):
    oned.datastores.clear()  # no bootstrap datastores: ids start at 100 like the guide's
    sys_ret, img_ret = _pair(run, conn)
    assert sys_ret["result"] is True, sys_ret["comment"]
    assert img_ret["result"] is True, img_ret["comment"]
    sys_id = next(i for i, d in oned.datastores.items() if d["name"] == SYSTEM)
    img = next(d for d in oned.datastores.values() if d["name"] == IMAGE)
    assert img["template"].get("COMPATIBLE_SYS_DS") == str(sys_id)
    assert img_ret["changes"]["new"]["template"].get("COMPATIBLE_SYS_DS") == str(sys_id)
    alloc = oned.calls_to("one.datastore.allocate")[1][0]
    assert f'COMPATIBLE_SYS_DS = "{sys_id}"' in alloc and 'LINSTOR_RESOURCE_GROUP = "one_rg"' in alloc
    # second run: nothing to do, nothing written, one pool read
    run.new_run()
    oned.reset_calls()
    for ret in _pair(run, conn):
        assert ret["result"] is True and ret["changes"] == {}, ret
    assert oned.write_calls() == []
    assert oned.counts() == {"one.datastorepool.info": 1}


def test_auto_place_datastores_get_the_resource_group_attributes_in_place(run, oned, conn):
    """A cloud registered with the old attributes: same names, the new attributes merged in,
    nothing else sent (the old ones stay, unused by the 2.x/3.x driver)."""
    for name, template in GUIDE_DS.items():
        assert run.state("datastore_present", name=name, template=template, **conn)["result"]
    run.new_run()
    oned.reset_calls()
    sys_id = next(i for i, d in oned.datastores.items() if d["name"] == SYSTEM)
    img_id = next(i for i, d in oned.datastores.items() if d["name"] == IMAGE)
    tmpl = {k: v for k, v in IMAGE_TMPL.items() if k != "BRIDGE_LIST"}
    sys_tmpl = {k: v for k, v in SYSTEM_TMPL.items() if k != "BRIDGE_LIST"}
    sys_ret = run.state("datastore_present", name=SYSTEM, template=sys_tmpl, **conn)
    img_ret = run.state("datastore_present", name=IMAGE, template=tmpl, datastore_ids=IDS, **conn)
    assert sorted(sys_ret["changes"]) == ["LINSTOR_CONTROLLERS", "LINSTOR_RESOURCE_GROUP"]
    assert img_ret["changes"]["COMPATIBLE_SYS_DS"] == {"old": None, "new": str(sys_id)}
    updates = oned.calls_to("one.datastore.update")
    assert updates == [
        (sys_id, f'LINSTOR_CONTROLLERS = "{CTL}"\nLINSTOR_RESOURCE_GROUP = "one_rg"\n', 1),
        (img_id, f'COMPATIBLE_SYS_DS = "{sys_id}"\nLINSTOR_CONTROLLERS = "{CTL}"\n'
                 'LINSTOR_RESOURCE_GROUP = "one_rg"\n', 1)]
    assert oned.datastores[img_id]["template"].get("LINSTOR_AUTO_PLACE") == "2"  # merge kept it


def test_missing_referenced_datastore_fails_without_write_and_is_pending_in_test_mode(run, oned, conn):
    ret = run.state("datastore_present", test=True, name=IMAGE, template=IMAGE_TMPL,
                    datastore_ids=IDS, **conn)
    assert ret["result"] is None, ret
    assert f"datastore '{SYSTEM}' (COMPATIBLE_SYS_DS of datastore {IMAGE}) does not exist (yet)" in ret["comment"]
    run.new_run()
    ret = run.state("datastore_present", name=IMAGE, template=IMAGE_TMPL, datastore_ids=IDS, **conn)
    assert ret["result"] is False
    assert ret["comment"] == f"datastore '{SYSTEM}' (COMPATIBLE_SYS_DS of datastore {IMAGE}) does not exist"
    assert oned.write_calls() == []


@pytest.mark.parametrize("ids,problem", [
    ({"COMPATIBLE_SYS_DS": SYSTEM, "LINSTOR_RESOURCE_GROUP": SYSTEM},
     "datastore_ids: LINSTOR_RESOURCE_GROUP is in template too: give it once"),
    ({"COMPATIBLE_SYS_DS": []}, "datastore_ids: COMPATIBLE_SYS_DS must name one datastore or a list of them"),
    ("COMPATIBLE_SYS_DS", "datastore_ids must be a dict of ATTRIBUTE: datastore name(s)"),
])
def test_bad_datastore_ids_are_refused_before_any_call(run, oned, conn, ids, problem):
    oned.reset_calls()
    ret = run.state("datastore_present", name=IMAGE, template=IMAGE_TMPL, datastore_ids=ids, **conn)
    assert ret["result"] is False and ret["comment"] == problem, ret
    assert oned.counts() == {}


def test_several_ids_are_comma_separated(run, oned, conn):
    oned.datastores.clear()
    run.state("datastore_present", name=SYSTEM, template=SYSTEM_TMPL, **conn)
    run.state("datastore_present", name="other_system", template=SYSTEM_TMPL, **conn)
    ret = run.state("datastore_present", name=IMAGE, template=IMAGE_TMPL,
                    datastore_ids={"compatible_sys_ds": [SYSTEM, "other_system"]}, **conn)
    assert ret["result"] is True, ret["comment"]
    ids = sorted(i for i, d in oned.datastores.items() if d["type"] == 1)
    img = next(d for d in oned.datastores.values() if d["name"] == IMAGE)
    assert img["template"].get("COMPATIBLE_SYS_DS") == ",".join(map(str, ids))
