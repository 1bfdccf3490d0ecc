"""crm execution + state modules with a mocked ``cmd.run_all`` fed by REAL captured output.

Fixtures in test/fixtures/crm/ (captured on Debian 12, pacemaker 2.1.5, crmsh 4.4.0):
  empty_query.xml               ``CIB_file=empty.xml cibadmin --query`` of ``cibadmin --empty``
  crmsh_pacemaker_drbd_guide_query.xml       ``cibadmin --query`` after ``crm configure load update
                                crmsh_pacemaker_drbd_guide.crm`` (crmsh's own XML: <master>, Master/Slave...)
  verify_stonith_*.txt          ``crm_verify -V -x`` of an empty CIB (stonith errors), rc 78
  query_not_running_*.txt       ``cibadmin --query -t 5`` with no cluster running, rc 102
  clone_wrap_{orig,new}.xml      CIB files (cibadmin --empty, --create/--delete with CIB_file):
                                drbd_one, then drbd_one inside the promotable clone ms_drbd_one;
  crm_diff_clone_wrap.xml       ``crm_diff --no-version -o clone_wrap_orig.xml -n
                                clone_wrap_new.xml`` (rc 1): delete + create of the moved id
  agents/<class>_<provider>_<type>.xml  ``crm_resource --show-metadata <agent>`` (resource-agents
                                4.12, drbd-utils 9.22, fence-agents 4.12)
  agents/pacemaker-fenced.xml   ``/usr/lib/pacemaker/pacemaker-fenced metadata``
  agents/missing_*.txt          ``crm_resource --show-metadata ocf:heartbeat:Nope``, rc 105
  agents/units_*.json           ``systemctl list-unit-files --output=json --no-pager -- <unit>``
                                (found; none, rc 1; masked; a template for an instance)
"""
import copy
import pathlib
import xml.etree.ElementTree as ET

import pytest
from conftest import UTILS, load_ext
from salt.exceptions import CommandExecutionError

FIX = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "crm"
# an existing file for cib= (the tools are mocked, nothing ever writes to it)
CIB = str(FIX / "crmsh_pacemaker_drbd_guide_query.xml")
crm = load_ext("modules", "crm")
crm_state = load_ext("states", "crm")


AGENTS = FIX / "agents"
FENCED = "/usr/lib/pacemaker/pacemaker-fenced"


def fixture(name):
    return (FIX / name).read_text()


def agent_fixture(name):
    return (AGENTS / name).read_text()


def _step(el):
    return f"{el.tag}[@id='{el.get('id')}']" if el.get("id") else el.tag


def _v2_changes(old, new, path, diff):
    """crm_diff's v2 format for two elements matched by tag + id (moves ignored)."""
    if old.attrib != new.attrib:
        ch = ET.SubElement(diff, "change", operation="modify", path=path)
        cl = ET.SubElement(ch, "change-list")
        for k in sorted(set(old.attrib) | set(new.attrib)):
            if k not in new.attrib:
                ET.SubElement(cl, "change-attr", name=k, operation="unset")
            elif old.get(k) != new.get(k):
                ET.SubElement(cl, "change-attr", name=k, operation="set", value=new.get(k))
        ET.SubElement(ET.SubElement(ch, "change-result"), new.tag, dict(new.attrib))
    olds = {(c.tag, c.get("id")): c for c in old}
    news = {(c.tag, c.get("id")) for c in new}
    for c in old:
        if (c.tag, c.get("id")) not in news:
            ET.SubElement(diff, "change", operation="delete", path=f"{path}/{_step(c)}")
    for i, c in enumerate(new):
        if (c.tag, c.get("id")) in olds:
            _v2_changes(olds[(c.tag, c.get("id"))], c, f"{path}/{_step(c)}", diff)
        else:
            ET.SubElement(diff, "change", operation="create", path=path,
                          position=str(i)).append(copy.deepcopy(c))


def v2_diff(orig_path, new_path):
    """A ``crm_diff --no-version`` double: the v2 patch of two CIB files' configuration."""
    diff = ET.Element("diff", format="2")
    _v2_changes(ET.parse(orig_path).getroot().find("configuration"),
                ET.parse(new_path).getroot().find("configuration"), "/cib/configuration", diff)
    return diff


def patch_sections(patch):
    """The configuration sections a v2 patch touches."""
    out = set()
    for ch in patch.iter("change"):
        parts = ch.get("path").split("/")
        out.add(parts[3].split("[")[0] if len(parts) > 3 else ch[0].tag)
    return sorted(out)


class FakeTools:
    """cmd.run_all double: a CIB in memory, answers like the captured real tools."""

    def __init__(self, cib_xml):
        self.root = ET.fromstring(cib_xml)
        self.calls = []
        self.down = False
        self.verify = {"retcode": 0, "stdout": "", "stderr": ""}
        self.written = []
        self.diffed = None
        # systemd unit asked for -> captured systemctl answer (default: no such unit file)
        self.units = {"lighttpd.service": "units_found.json"}

    def __call__(self, argv, python_shell=True, env=None, timeout=None, **kwargs):
        assert python_shell is False
        assert isinstance(argv, list)
        assert kwargs.get("output_loglevel") == "quiet"
        self.calls.append((list(argv), env))
        if argv[0] == "cibadmin" and self.down:
            return {"retcode": int(fixture("query_not_running_rc.txt")),
                    "stdout": fixture("query_not_running_stdout.txt"),
                    "stderr": fixture("query_not_running_stderr.txt"), "pid": 1}
        if argv[:2] == ["cibadmin", "--query"]:
            return {"retcode": 0, "stdout": ET.tostring(self.root, encoding="unicode"),
                    "stderr": "", "pid": 1}
        if argv[0] == "crm_diff":
            orig, new = argv[argv.index("--original") + 1], argv[argv.index("--new") + 1]
            patch = v2_diff(orig, new)
            self.diffed = ET.parse(new).getroot().find("configuration")
            return {"retcode": 1 if len(patch) else 0, "stderr": "", "pid": 1,
                    "stdout": ET.tostring(patch, encoding="unicode") if len(patch) else ""}
        if argv[:2] == ["cibadmin", "--patch"]:
            # the patch comes from the last crm_diff: the CIB gets that diff's new configuration
            patch = ET.parse(argv[argv.index("--xml-file") + 1]).getroot()
            self.written.append((patch_sections(patch), ET.tostring(patch, encoding="unicode")))
            self.root.remove(self.root.find("configuration"))
            self.root.insert(0, copy.deepcopy(self.diffed))
            self.root.set("epoch", str(int(self.root.get("epoch")) + 1))
            return {"retcode": 0, "stdout": "", "stderr": "", "pid": 1}
        if argv[0] == "crm_verify":
            return dict(self.verify, pid=1)
        if argv[:2] == ["crm_resource", "--show-metadata"]:
            path = AGENTS / (argv[2].replace(":", "_") + ".xml")
            if path.is_file():
                return {"retcode": 0, "stdout": path.read_text(), "stderr": "", "pid": 1}
            return {"retcode": int(agent_fixture("missing_rc.txt")), "stdout": "",
                    "stderr": agent_fixture("missing_stderr.txt").replace(
                        "ocf:heartbeat:Nope", argv[2]), "pid": 1}
        if argv == [FENCED, "metadata"]:
            return {"retcode": 0, "stdout": agent_fixture("pacemaker-fenced.xml"),
                    "stderr": "", "pid": 1}
        if argv[:2] == ["systemctl", "list-unit-files"]:
            units = argv[argv.index("--") + 1:]
            answer = self.units.get(units[0], "units_none.json")
            return {"retcode": 1 if answer == "units_none.json" else 0,
                    "stdout": agent_fixture(answer), "stderr": "", "pid": 1}
        raise AssertionError(f"unexpected command {argv}")

    def agent_calls(self):
        return [argv for argv, _ in self.calls if argv[0] in ("crm_resource", "systemctl", FENCED)]

    def cib_calls(self):
        return [(argv, env) for argv, env in self.calls
                if argv[0] not in ("crm_resource", "systemctl", FENCED)]

    def count(self, *prefix):
        return sum(1 for argv, _ in self.calls if argv[:len(prefix)] == list(prefix))


@pytest.fixture
def tools():
    return FakeTools(fixture("crmsh_pacemaker_drbd_guide_query.xml"))


@pytest.fixture
def opts():
    return {"test": False}


@pytest.fixture(autouse=True)
def fenced_binary(monkeypatch):
    monkeypatch.setattr(crm, "_fenced_binary", lambda: FENCED)
    monkeypatch.setattr(crm.salt.utils.path, "which", lambda name: f"/usr/sbin/{name}")


@pytest.fixture
def configure_loader_modules(tools, opts):
    context = {}
    return {
        crm: {"__salt__": {"cmd.run_all": tools}, "__context__": context, "__opts__": opts,
              "__utils__": UTILS},
        crm_state: {
            "__salt__": {f"crm.{fun}": getattr(crm, fun) for fun in (
                "apply", "remove", "set_properties", "desired", "plan", "query", "stage",
                "push")},
            "__opts__": opts,
            "__context__": context,
            "__utils__": UTILS,
        },
    }


DRBD_ONE = dict(
    agent="ocf:linbit:drbd", params={"drbd_resource": "one-disk"},
    ops=[{"name": "monitor", "interval": "29s", "role": "Promoted", "timeout": "20s"},
         {"name": "monitor", "interval": "31s", "role": "Unpromoted", "timeout": "20s"}])
MS_META = {"promoted-max": 1, "promoted-node-max": 1, "clone-max": 2, "clone-node-max": 1,
           "notify": True}


def test_crmsh_cib_is_already_in_desired_state_with_one_read(tools):
    rets = [
        crm_state.resource_present("drbd_one", cib=CIB, **DRBD_ONE),
        crm_state.clone_present("ms_drbd_one", resource="drbd_one", promotable=True,
                                meta=MS_META, cib=CIB),
        crm_state.colocation_present(
            "ha_col", score="inf", cib=CIB,
            resources=["ha_group", "ms_drbd_one:Promoted", "ms_drbd_data:Promoted"]),
        crm_state.order_present(
            "ha_after_drbd", score="inf", cib=CIB,
            resources=["ms_drbd_one:promote", "ms_drbd_data:promote", "ha_group:start"]),
        crm_state.group_present("ha_group", members=["san_ip", "lan_ip", "fs_one", "nfs_one"],
                                cib=CIB),
        crm_state.property_present("no-quorum-policy", value="ignore", cib=CIB),
        crm_state.property_present("resource-stickiness", value=1000, section="rsc_defaults",
                                   cib=CIB),
    ]
    assert [r["changes"] for r in rets] == [{}] * 7
    assert [r["result"] for r in rets] == [True] * 7
    assert rets[0]["comment"] == "resource drbd_one is in the desired state"
    # one CIB read for the whole run, no verify, no write; the agent's metadata once
    assert [argv[:2] for argv, _ in tools.cib_calls()] == [["cibadmin", "--query"]]
    assert tools.cib_calls()[0][1] == {"CIB_file": CIB}
    assert tools.agent_calls() == [["crm_resource", "--show-metadata", "ocf:linbit:drbd"]]


def test_test_mode_reports_diff_and_touches_nothing(tools, opts):
    opts["test"] = True
    before = ET.tostring(tools.root)
    ret = crm_state.resource_present(
        "lan_ip", agent="ocf:heartbeat:IPaddr2", cib=CIB,
        params={"ip": "10.10.11.99", "cidr_netmask": "24", "nic": "eth2"},
        ops=[{"name": "monitor", "interval": "40s", "timeout": "20s"}])
    assert ret["result"] is None
    assert ret["changes"] == {"params": {"ip": {"old": "10.10.11.12", "new": "10.10.11.99"}}}
    assert ret["comment"] == "resource lan_ip would be updated"
    assert tools.count("cibadmin", "--patch") == 0
    assert tools.count("crm_verify") == 0 and tools.count("crm_diff") == 0
    assert ET.tostring(tools.root) == before


def test_change_is_verified_then_written_once_and_cache_invalidated(tools):
    ret = crm_state.resource_present(
        "lan_ip", agent="ocf:heartbeat:IPaddr2", cib=CIB,
        params={"ip": "10.10.11.13", "cidr_netmask": "24", "nic": "eth2"},
        ops=[{"name": "monitor", "interval": "40s", "timeout": "20s"}])
    assert ret["result"] is True
    assert ret["changes"] == {"params": {"ip": {"old": "10.10.11.12", "new": "10.10.11.13"}}}
    # the one write path: copy, crm_diff, crm_verify, ONE cibadmin --patch, re-read
    assert [argv[0:2] for argv, _ in tools.calls] == [
        ["crm_resource", "--show-metadata"], ["cibadmin", "--query"],
        ["crm_diff", "--no-version"], ["crm_verify", "-V"], ["cibadmin", "--patch"],
        ["cibadmin", "--query"]]
    sections, xml = tools.written[0]
    assert sections == ["resources"]
    assert 'value="10.10.11.13"' in xml
    # the crmsh ids are kept
    assert 'id="lan_ip-instance_attributes-ip"' in xml
    # a fresh read after the write (cache invalidated), which the next states share
    crm_state.property_present("no-quorum-policy", value="ignore", cib=CIB)
    crm_state.property_present("stonith-enabled", value="false", cib=CIB)
    assert tools.count("cibadmin", "--query") == 2
    assert tools.count("cibadmin", "--patch") == 1


def test_master_element_and_old_names_compare_equal_but_changes_convert(tools):
    ret = crm_state.clone_present("ms_drbd_one", resource="drbd_one", promotable=True,
                                  meta=dict(MS_META, notify="yes"), cib=CIB)
    assert ret["changes"] == {}
    ret = crm_state.clone_present("ms_drbd_one", resource="drbd_one", promotable=True,
                                  meta=dict(MS_META, **{"clone-max": 3}), cib=CIB)
    assert ret["changes"] == {"meta": {"clone-max": {"old": "2", "new": "3"}}}
    assert "converted deprecated <master>" in ret["comment"]
    clone = tools.root.find("configuration/resources/clone[@id='ms_drbd_one']")
    assert clone is not None
    meta = {nv.get("name"): nv.get("value") for nv in clone.find("meta_attributes")}
    assert meta == {"master-max": "1", "master-node-max": "1", "clone-max": "3",
                    "clone-node-max": "1", "notify": "true", "promotable": "true"}


def test_new_resources_use_pacemaker2_roles_on_new_schema(tools):
    ret = crm_state.resource_present("drbd_x", agent="ocf:linbit:drbd", cib=CIB,
                                     params={"drbd_resource": "x"},
                                     ops=[{"name": "monitor", "interval": "29s",
                                           "role": "Master"}])
    assert ret["changes"]["old"] is None
    op = tools.root.find(".//primitive[@id='drbd_x']/operations/op")
    assert (op.get("id"), op.get("role")) == ("drbd_x-monitor-29s", "Promoted")


def test_old_schema_gets_master_spelling():
    root = ET.fromstring(fixture("empty_query.xml"))
    root.set("validate-with", "pacemaker-3.0")
    tools = FakeTools(ET.tostring(root, encoding="unicode"))
    crm.__salt__["cmd.run_all"] = tools
    crm.__context__.clear()
    crm.apply("primitive", "d", agent="ocf:linbit:drbd", cib=CIB,
              params={"drbd_resource": "r0"}, ops=[{"name": "monitor", "interval": "10s", "role": "Promoted"}])
    assert tools.root.find(".//op").get("role") == "Master"


def test_cluster_down_gives_clear_message_fast(tools):
    tools.down = True
    ret = crm_state.resource_present("x", agent="ocf:heartbeat:Dummy")
    assert ret["result"] is False
    assert ret["comment"] == (
        "resource x: cluster not running: cannot reach the Pacemaker CIB manager on this node "
        "(Could not connect to the CIB: Transport endpoint is not connected)")
    argv, env = tools.cib_calls()[0]
    assert argv == ["cibadmin", "--query", "--timeout", "30"] and env is None
    with pytest.raises(CommandExecutionError, match="^cluster not running"):
        crm.query()


def test_hung_cibadmin_is_reported_as_timeout(tools):
    def hung(argv, **kwargs):
        return {"retcode": 1, "pid": 1, "stderr": "",
                "stdout": f"{argv} : Timed out after 35 seconds"}

    crm.__salt__["cmd.run_all"] = hung
    with pytest.raises(CommandExecutionError, match="did not answer within 35s on the live"):
        crm.query()


def test_wait_for_dc(tools):
    assert crm.wait_for_dc(cib=CIB)["offline"] is True
    tools.root.set("dc-uuid", "1")
    tools.root.find("configuration/nodes").append(ET.Element("node", id="1", uname="n1"))
    tools.root.set("have-quorum", "1")
    assert crm.wait_for_dc(timeout=5)["dc"] == "n1"
    tools.down = True
    with pytest.raises(CommandExecutionError, match=r"^cluster not running: no DC elected "
                                                    r"within 1s \(Could not connect"):
        crm.wait_for_dc(timeout=1, interval=0.3)


def test_verify_surfaces_pacemaker_text(tools):
    tools.verify = {"retcode": int(fixture("verify_stonith_rc.txt")),
                    "stdout": fixture("verify_stonith_stdout.txt"),
                    "stderr": fixture("verify_stonith_stderr.txt")}
    res = crm.verify(cib=str(FIX / "empty_query.xml"))
    assert res["valid"] is False and res["retcode"] == 78
    assert res["errors"] == [
        "Resource start-up disabled since no STONITH resources have been defined",
        "Either configure some or disable STONITH with the stonith-enabled option",
        "NOTE: Clusters with shared data need STONITH to ensure data integrity",
    ]
    assert tools.calls[-1][0] == ["crm_verify", "-V", "--xml-file", str(FIX / "empty_query.xml")]


def test_new_verify_errors_block_the_write_old_ones_do_not(tools):
    calls = {"n": 0}
    stonith = {"retcode": 78, "stdout": "", "stderr": fixture("verify_stonith_stderr.txt")}

    def verify_new_cib_bad(argv, **kwargs):
        if argv[0] == "crm_verify":
            calls["n"] += 1
            return dict(stonith, pid=1) if calls["n"] == 1 else {
                "retcode": 0, "stdout": "", "stderr": "", "pid": 1}
        return tools(argv, **kwargs)

    crm.__salt__["cmd.run_all"] = verify_new_cib_bad
    ret = crm_state.property_present("stonith-enabled", value=True, cib=CIB)
    assert ret["result"] is False
    assert "crm_verify rejects the new configuration, nothing written: Resource start-up " \
           "disabled since no STONITH resources have been defined" in ret["comment"]
    assert tools.count("cibadmin", "--patch") == 0
    # errors that the current CIB already has do not block an unrelated change
    tools.verify = stonith
    crm.__salt__["cmd.run_all"] = tools
    ret = crm_state.property_present("cluster-recheck-interval", value="5min", cib=CIB)
    assert ret["result"] is True
    assert "still has errors it had before" in ret["comment"]
    assert tools.count("cibadmin", "--patch") == 1


def test_secrets_never_in_changes_comment_argv_or_errors(tools):
    ret = crm_state.stonith_present("fence1", agent="fence_ipmilan", cib=CIB,
                                    params={"ip": "10.0.0.9", "password": "Pa55-word",
                                            "username": "admin", "token": "t0k3n-value"},
                                    hidden_params=["token"], undeclared_params=["token"])
    assert ret["result"] is True
    assert ret["changes"]["new"]["params"] == {
        "ip": "10.0.0.9", "password": "<hidden>", "username": "admin", "token": "<hidden>"}
    flat = repr(ret) + repr(tools.calls)
    assert "Pa55-word" not in flat and "t0k3n-value" not in flat
    # an error text that echoes the secret is scrubbed
    seen = []

    def verify_echoes_secret(argv, **kwargs):
        if argv[0] == "crm_verify":
            seen.append(argv)
            if len(seen) == 1:  # the new CIB: an error quoting the value
                return {"retcode": 78, "stdout": "", "pid": 1,
                        "stderr": "(x) error: bad value 'N3w-pass' for password\n"}
        return tools(argv, **kwargs)

    crm.__salt__["cmd.run_all"] = verify_echoes_secret
    ret = crm_state.stonith_present("fence1", agent="fence_ipmilan", cib=CIB,
                                    params={"ip": "10.0.0.9", "password": "N3w-pass",
                                            "username": "admin", "token": "t0k3n-value"},
                                    hidden_params=["token"], undeclared_params=["token"])
    assert ret["result"] is False
    assert "N3w-pass" not in ret["comment"] and "bad value '<hidden>'" in ret["comment"]
    assert "Pa55-word" not in crm.query(cib=CIB)


def test_resource_absent_prunes_sets_and_drops_constraints_in_one_write(tools):
    ret = crm_state.resource_absent("drbd_data", cib=CIB)
    assert ret["result"] is True
    assert set(ret["changes"]) == {"ms_drbd_data", "drbd_data", "ha_col", "ha_after_drbd"}
    assert ret["changes"]["ha_col"]["new"]["sets"] == [
        {"resources": ["ha_group"]}, {"role": "Master", "resources": ["ms_drbd_one"]}]
    assert [w[0] for w in tools.written] == [["constraints", "resources"]]  # one write
    assert tools.root.find(".//resource_ref[@id='ms_drbd_data']") is None
    assert crm_state.resource_absent("drbd_data", cib=CIB)["comment"] == \
        "resource drbd_data is already absent"


def test_constraint_absent_and_unknown_references(tools):
    ret = crm_state.colocation_present("c2", rsc="ha_group", with_rsc="nope", cib=CIB)
    assert ret["result"] is False
    assert ret["comment"] == "colocation c2: rsc_colocation c2 references unknown resource(s): nope"
    ret = crm_state.constraint_absent("ha_after_drbd", cib=CIB)
    assert ret["changes"]["ha_after_drbd"]["new"] is None
    assert tools.written[-1][0] == ["constraints"]


def test_order_score_spelling_is_kind(tools):
    order = tools.root.find(".//rsc_order")
    del order.attrib["kind"]
    order.set("score", "INFINITY")
    ret = crm_state.order_present(
        "ha_after_drbd", kind="Mandatory", cib=CIB,
        resources=["ms_drbd_one:promote", "ms_drbd_data:promote", "ha_group:start"])
    assert ret["changes"] == {}


def test_location_rules(tools):
    rules = [{"score": "-inf", "boolean_op": "or", "expressions": [
        {"attribute": "#uname", "operation": "eq", "value": "n3"},
        {"attribute": "pingd", "operation": "not_defined"}]}]
    ret = crm_state.location_present("avoid_n3", rsc="ha_group", rules=rules, cib=CIB)
    assert ret["changes"]["new"]["rules"][0]["score"] == "-INFINITY"
    loc = tools.root.find(".//rsc_location[@id='avoid_n3']")
    assert loc.find("rule").attrib == {"id": "avoid_n3-rule", "score": "-INFINITY",
                                       "boolean-op": "or"}
    assert [e.get("attribute") for e in loc.find("rule")] == ["#uname", "pingd"]
    again = crm_state.location_present("avoid_n3", rsc="ha_group", rules=rules, cib=CIB)
    assert again["changes"] == {}


def test_bad_input_messages(tools):
    r = crm_state.resource_present("x", agent="ocf:Dummy", cib=CIB)
    assert r["comment"] == "resource x: agent 'ocf:Dummy': ocf agents are ocf:<provider>:<type>"
    r = crm_state.resource_present("x", agent="foo:bar", cib=CIB)
    assert "unknown class 'foo'" in r["comment"]
    r = crm_state.resource_present("ha_col", agent="Dummy", cib=CIB)
    assert r["comment"] == "resource ha_col: id 'ha_col' is already used by a <rsc_colocation> element"
    r = crm_state.order_present("o", kind="sometimes", first="a", then="b", cib=CIB)
    assert "allowed: Mandatory, Optional, Serialize" in r["comment"]
    assert tools.count("cibadmin", "--patch") == 0


def test_build_and_from_crmsh_are_plain_data():
    xml = crm.build("primitive", "aoe_data", agent="ocf:heartbeat:AoEtarget",
                    params={"device": "/dev/drbd2", "nic": "bond0", "shelf": 0, "slot": 0,
                            "binary": "/usr/sbin/vblade"})
    el = ET.fromstring(xml)
    assert [nv.get("name") for nv in el.iter("nvpair")] == [
        "device", "nic", "shelf", "slot", "binary"]
    assert crm.from_crmsh(
        "colocation ha_col inf: ha_group ms_drbd_one:Master ms_drbd_data:Master") == {
        "state": "crm.colocation_present", "name": "ha_col", "score": "INFINITY",
        "resources": ["ha_group", "ms_drbd_one:Master", "ms_drbd_data:Master"]}
    assert crm.from_crmsh(
        'ms ms_drbd_one drbd_one meta master-max="1" notify="true"') == {
        "state": "crm.clone_present", "name": "ms_drbd_one", "resource": "drbd_one",
        "promotable": True, "meta": {"master-max": "1", "notify": "true"}}
    assert crm.from_crmsh(
        'primitive lan_ip IPaddr params ip=10.0.0.1 nic="eth2" op monitor interval="40s" '
        'timeout="20s"') == {
        "state": "crm.resource_present", "name": "lan_ip", "agent": "IPaddr",
        "params": {"ip": "10.0.0.1", "nic": "eth2"},
        "ops": [{"name": "monitor", "interval": "40s", "timeout": "20s"}]}


def test_role_and_id_validation(tools):
    r = crm_state.resource_present("x", agent="Dummy", cib=CIB,
                                   ops=[{"name": "monitor", "interval": "9s", "role": "Boss"}])
    assert r["result"] is False
    assert r["comment"] == ("resource x: op monitor: role 'Boss'; allowed: Started, Stopped, "
                            "Promoted, Unpromoted (Master, Slave)")
    r = crm_state.resource_present("1st ip", agent="Dummy", cib=CIB)
    assert r["result"] is False and "is not a valid XML ID" in r["comment"]
    assert tools.count("cibadmin", "--patch") == 0


def test_removing_a_clone_takes_its_child_removing_a_group_keeps_members(tools):
    ret = crm_state.resource_absent("ms_drbd_one", cib=CIB)
    assert {"ms_drbd_one", "drbd_one"} <= set(ret["changes"])
    assert tools.root.find(".//primitive[@id='drbd_one']") is None
    ret = crm_state.resource_absent("ha_group", cib=CIB)
    assert "san_ip kept as a top-level resource" in ret["comment"]
    res = tools.root.find("configuration/resources")
    assert sorted(p.get("id") for p in res.findall("primitive")) == [
        "fs_one", "lan_ip", "nfs_one", "san_ip"]
    # ha_col / ha_after_drbd lost both ha_group and ms_drbd_one: only one ref left -> gone
    assert [c.get("id") for c in tools.root.find("configuration/constraints")] == []


def test_test_mode_for_absent_and_properties(tools, opts):
    opts["test"] = True
    before = ET.tostring(tools.root)
    ret = crm_state.resource_absent("ms_drbd_data", cib=CIB)
    assert ret["result"] is None
    assert ret["comment"] == "resource ms_drbd_data would be removed"
    assert set(ret["changes"]) == {"ms_drbd_data", "drbd_data", "ha_col", "ha_after_drbd"}
    ret = crm_state.property_present("props", properties={"no-quorum-policy": "stop",
                                                          "stonith-enabled": "false"}, cib=CIB)
    assert ret["result"] is None
    assert ret["changes"] == {"no-quorum-policy": {"old": "ignore", "new": "stop"}}
    ret = crm_state.property_absent("stonith-enabled", cib=CIB)
    assert ret["result"] is None and ret["changes"] == {
        "stonith-enabled": {"old": "false", "new": None}}
    assert ET.tostring(tools.root) == before
    assert tools.count("cibadmin", "--patch") == 0
    assert tools.count("cibadmin", "--query") == 1


# ---------------------------------------------------------------------------------- staging
# stage_orig.xml / stage_staged.xml: real CIB files (cibadmin --create/--modify/--delete with
# CIB_file, pacemaker 2.1.5); crm_diff_stage.xml: `crm_diff --no-version -o orig -n staged`
# of the two (rc 1): delete old_rsc, modify san_ip's ip and fence1's password, create lan_ip.
class PushTools:
    """cmd.run_all double for crm.push: crm_diff answers the captured patch, cibadmin
    --patch applies it to `live` only when `apply` is True (else the write is lost)."""

    def __init__(self, apply=True):
        self.live = ET.fromstring(fixture("stage_orig.xml"))
        self.apply = apply
        self.calls = []

    def __call__(self, argv, python_shell=True, env=None, timeout=None, **kwargs):
        assert python_shell is False and kwargs.get("output_loglevel") == "quiet"
        self.calls.append(list(argv))
        if argv[0] == "crm_diff":
            return {"retcode": 1, "stdout": fixture("crm_diff_stage.xml"), "stderr": "", "pid": 1}
        if argv[0] == "crm_verify":
            return {"retcode": 0, "stdout": "", "stderr": "", "pid": 1}
        if argv[:2] == ["cibadmin", "--patch"]:
            if self.apply:
                self.live = ET.fromstring(fixture("stage_staged.xml"))
            return {"retcode": 0, "stdout": "", "stderr": "", "pid": 1}
        if argv[:2] == ["cibadmin", "--query"]:
            return {"retcode": 0, "stdout": ET.tostring(self.live, encoding="unicode"), "stderr": "", "pid": 1}
        raise AssertionError(f"unexpected command {argv}")


@pytest.fixture
def stage_dir(tmp_path):
    (tmp_path / "orig.xml").write_text(fixture("stage_orig.xml"))
    (tmp_path / "staged.xml").write_text(fixture("stage_staged.xml"))
    return str(tmp_path)


def test_push_summary_names_ids_never_values(stage_dir):
    crm.__salt__["cmd.run_all"] = tools = PushTools()
    res = crm.push(stage_dir)
    assert res["written"] is True
    assert res["changes"] == [
        "delete old_rsc",
        "modify san_ip/san_ip-ia/san_ip-ia-ip (value)",
        "modify fence1/fence1-ia/fence1-ia-password (value)",
        "create primitive lan_ip in /cib/configuration/resources",
    ]
    text = " ".join(res["changes"]) + " ".join(" ".join(a) for a in tools.calls)
    assert "n3w-secret" not in text and "10.0.0.2" not in text
    # one verify of the staged file, one patch, then one re-read
    assert [a[:2] for a in tools.calls] == [
        ["crm_diff", "--no-version"], ["crm_verify", "-V"], ["cibadmin", "--patch"], ["cibadmin", "--query"]]


def test_push_test_mode_reports_and_writes_nothing(stage_dir):
    crm.__salt__["cmd.run_all"] = tools = PushTools()
    res = crm.push(stage_dir, test=True)
    assert res["written"] is False and len(res["changes"]) == 4
    assert [a[0] for a in tools.calls] == ["crm_diff"]


def test_push_verifies_what_the_patch_touched(stage_dir):
    crm.__salt__["cmd.run_all"] = PushTools(apply=False)
    with pytest.raises(CommandExecutionError, match=r"verification failed.* at fence1-ia-password, "
                                                    r"lan_ip, old_rsc, san_ip-ia-ip"):
        crm.push(stage_dir)


def test_push_without_stage_fails_clearly(tmp_path):
    with pytest.raises(CommandExecutionError, match="run crm.stage"):
        crm.push(str(tmp_path))


def test_staged_states_write_through_the_push_and_test_mode_writes_nothing(stage_dir, opts):
    """crm.cib_staged/crm.cib_pushed on the engine: test=True stages nothing and predicts the
    patch; then ONE cibadmin --patch, its summary as changes (one crm_diff for both reads)."""
    crm.__salt__["cmd.run_all"] = tools = PushTools()
    opts["test"] = True
    ret = crm_state.cib_staged(stage_dir)
    assert (ret["result"], ret["changes"], ret["comment"]) == (
        True, {}, f"test=True: nothing staged in {stage_dir}")
    ret = crm_state.cib_pushed(stage_dir)
    assert ret["result"] is None and len(ret["changes"]["patch"]) == 4
    assert ret["comment"] == (f"CIB staged in {stage_dir} would be written (4 change(s), "
                              "one cibadmin --patch)")
    opts["test"] = False
    ret = crm_state.cib_pushed(stage_dir)
    assert ret["result"] is True, ret
    assert ret["comment"] == (f"CIB staged in {stage_dir} written (4 change(s), "
                              "one cibadmin --patch)")
    assert [a[:2] for a in tools.calls] == [
        ["crm_diff", "--no-version"], ["crm_verify", "-V"], ["cibadmin", "--patch"],
        ["cibadmin", "--query"]]
    assert "n3w-secret" not in repr(ret)


def test_patch_check_finds_a_primitive_moved_into_a_clone():
    """A primitive wrapped in a clone is a delete + create of its id: after the write it must
    be found in its new place, not be missing."""
    patch = UTILS["ohaf_cib_patch.parse_patch"](fixture("crm_diff_clone_wrap.xml"))
    orig = ET.fromstring(fixture("clone_wrap_orig.xml"))
    new = ET.fromstring(fixture("clone_wrap_new.xml"))
    assert UTILS["ohaf_cib_patch.summary"](patch) == [
        "delete drbd_one", "create clone ms_drbd_one in /cib/configuration/resources"]
    assert UTILS["ohaf_cib_patch.off_targets"](patch, new, new) == []
    # a lost write: the clone (its subtree holds drbd_one) is not there
    assert UTILS["ohaf_cib_patch.off_targets"](patch, orig, new) == ["ms_drbd_one"]
    # the module's pure diff of the same change, on the CIB text
    plan = crm.plan(fixture("clone_wrap_orig.xml"), "clone", "ms_drbd_one",
                    resource="drbd_one", promotable=True)
    assert plan["changes"] == {"old": None, "new": {
        "type": "clone", "resource": "drbd_one", "promotable": True, "meta": {}}}
    assert crm.plan(fixture("clone_wrap_new.xml"), "clone", "ms_drbd_one",
                    resource="drbd_one", promotable=True)["changes"] == {}


def test_stage_copies_the_cib_private(tools, tmp_path):
    d = tmp_path / "stage"
    info = crm.stage(str(d))
    assert oct(d.stat().st_mode & 0o777) == "0o700"
    for name in ("orig.xml", "staged.xml"):
        assert oct((d / name).stat().st_mode & 0o777) == "0o600"
        assert ET.parse(d / name).getroot().find("configuration/resources") is not None
    assert info["staged"] == str(d / "staged.xml") and tools.count("cibadmin", "--query") == 1


# --------------------------------------------------------------------------------------------
# the resource agent check (captured metadata in test/fixtures/crm/agents/)
# --------------------------------------------------------------------------------------------
VIP = dict(agent="ocf:heartbeat:IPaddr2", cib=CIB,
           ops=[{"name": "monitor", "interval": "40s", "timeout": "20s"}])


@pytest.mark.parametrize("test_mode", [False, True])
def test_undeclared_param_is_refused_before_the_cib_is_read(tools, opts, test_mode):
    opts["test"] = test_mode
    ret = crm_state.resource_present(
        "lan_ip", params={"ip": "10.10.11.13", "cidr_netmaks": "24", "nic": "eth2"}, **VIP)
    assert ret["result"] is False and ret["changes"] == {}
    comment = ret["comment"]
    assert comment.startswith("resource lan_ip: agent ocf:heartbeat:IPaddr2: parameter(s) not "
                              "declared by the agent: cidr_netmaks; allowed: arp_bg, ")
    assert ", cidr_netmask, " in comment and ", trace_ra, " in comment
    assert comment.count("resource lan_ip") == 1
    assert tools.cib_calls() == []


def test_missing_required_param_and_its_obsolete_spelling(tools):
    ret = crm_state.resource_present("lan_ip", params={"nic": "eth2"}, **VIP)
    assert ret["result"] is False
    assert ret["comment"] == ("resource lan_ip: agent ocf:heartbeat:IPaddr2: required "
                              "parameter(s) missing: ip")
    # fence_apc: ip (required) obsoletes ipaddr (required, deprecated): either one does
    ret = crm_state.stonith_present("fence1", agent="fence_apc", cib=CIB,
                                    params={"ipaddr": "10.0.0.9", "login": "admin"})
    assert ret["result"] is True, ret
    assert ret["comment"] == (
        "stonith device fence1 created (agent stonith:fence_apc: parameter ipaddr is "
        "deprecated, use ip; agent stonith:fence_apc: parameter login is deprecated, use "
        "username)")
    ret = crm_state.stonith_present("fence2", agent="fence_apc", cib=CIB, params={})
    assert ret["comment"] == ("stonith device fence2: agent stonith:fence_apc: required "
                              "parameter(s) missing: ip, username")


def test_agent_missing_on_this_node_is_refused_with_crm_resources_words(tools, opts):
    opts["test"] = True
    ret = crm_state.resource_present("x", agent="ocf:heartbeat:Nope", cib=CIB)
    assert ret["result"] is False
    assert ret["comment"] == ("resource x: agent ocf:heartbeat:Nope not available on this node "
                              "(crm_resource --show-metadata: No such device or address)")
    assert tools.cib_calls() == []


def test_metadata_is_read_once_per_agent_per_run(tools):
    for i in range(3):
        assert crm_state.resource_present(
            f"ip{i}", params={"ip": f"10.0.0.{i}"}, **VIP)["result"] is True
    for _ in range(2):
        assert crm_state.resource_present("x", agent="Nope", cib=CIB)["result"] is False
    assert tools.agent_calls() == [["crm_resource", "--show-metadata", "ocf:heartbeat:IPaddr2"],
                                   ["crm_resource", "--show-metadata", "ocf:heartbeat:Nope"]]


def test_systemd_agents_are_checked_with_their_unit_file(tools):
    ret = crm_state.resource_present("lighttpd", agent="systemd:lighttpd", cib=CIB)
    assert ret["result"] is True, ret
    ret = crm_state.resource_present("OpenNebula", agent="systemd:opennebula", cib=CIB)
    assert ret["comment"] == ("resource OpenNebula: agent systemd:opennebula: no unit file "
                              "opennebula.service on this node (package not installed?)")
    tools.units["masked-unit.service"] = "units_masked.json"
    ret = crm_state.resource_present("m", agent="systemd:masked-unit", cib=CIB)
    assert ret["comment"] == ("resource m: agent systemd:masked-unit: unit masked-unit.service "
                              "is masked: systemd will not start it")
    # an instance of a template unit: the template's file counts
    tools.units["getty@tty1.service"] = "units_template.json"
    assert crm_state.resource_present("g", agent="systemd:getty@tty1", cib=CIB)["result"]
    # Pacemaker's systemd metadata declares no parameters
    ret = crm_state.resource_present("l2", agent="systemd:lighttpd", cib=CIB,
                                     params={"config": "/etc/x"})
    assert ret["comment"] == (
        "resource l2: agent systemd:lighttpd: parameter(s) not declared by the agent: config; "
        "allowed: none (this agent takes no parameters) (undeclared_params lists names an "
        "agent reads without declaring them)")
    ret = crm_state.resource_present("bad", agent="systemd:a*b", cib=CIB)
    assert ret["comment"] == "resource bad: agent systemd:a*b: 'a*b.service' is not a valid " \
                             "systemd unit name"
    assert [a for a in tools.agent_calls() if a[0] == "crm_resource"] == []
    ask = ["systemctl", "list-unit-files", "--output=json", "--no-pager", "--"]
    assert tools.agent_calls() == [ask + ["lighttpd.service"], ask + ["opennebula.service"],
                                   ask + ["masked-unit.service"],
                                   ask + ["getty@tty1.service", "getty@.service"]]


def test_stonith_takes_the_fencers_params_and_never_needs_the_victim(tools, monkeypatch):
    params = {"ip": "10.0.0.9", "username": "admin", "lanplus": 1,
              "pcmk_host_list": "cloud-cc01", "pcmk_delay_max": "15s"}
    assert crm_state.stonith_present("f1", agent="fence_ipmilan", cib=CIB,
                                     params=params)["result"] is True
    ret = crm_state.stonith_present("f2", agent="fence_ipmilan", cib=CIB,
                                    params=dict(params, pcmk_dely_max="15s"))
    assert "not declared by the agent: pcmk_dely_max; allowed: action, " in ret["comment"]
    assert ", pcmk_delay_max, " in ret["comment"]
    assert tools.agent_calls() == [["crm_resource", "--show-metadata", "stonith:fence_ipmilan"],
                                   [FENCED, "metadata"]]
    # no fencer binary found: any pcmk_* name passes (and the message says so)
    crm.__context__.clear()
    monkeypatch.setattr(crm, "_fenced_binary", lambda: None)
    assert crm_state.stonith_present("f3", agent="fence_ipmilan", cib=CIB,
                                     params=dict(params, pcmk_dely_max="1s"))["result"] is True
    ret = crm_state.stonith_present("f4", agent="fence_ipmilan", cib=CIB,
                                    params=dict(params, bogus=1))
    assert ret["comment"].endswith(", verbose_level, version, pcmk_* (fencer) "
                                   "(undeclared_params lists names an agent reads without "
                                   "declaring them)")


def test_undeclared_params_and_check_agent_false(tools):
    ret = crm_state.resource_present("lan_ip", params={"ip": "10.0.0.1", "site_knob": "1"},
                                     undeclared_params=["site_knob"], **VIP)
    assert ret["result"] is True, ret
    tools.calls.clear()
    ret = crm_state.resource_present("x", agent="ocf:heartbeat:Nope", cib=CIB,
                                     check_agent=False)
    assert ret["result"] is True and tools.agent_calls() == []


def test_refusal_never_shows_param_values(tools):
    ret = crm_state.stonith_present("f1", agent="fence_ipmilan", cib=CIB,
                                    params={"ip": "10.0.0.9", "username": "admin",
                                            "pasword": "Pa55-word"})
    assert ret["result"] is False and "pasword" in ret["comment"]
    assert "Pa55" not in repr(ret)


def test_the_formulas_agents_take_the_params_the_formula_renders(tools):
    """pacemaker/resources' primitives (param names as the SLS renders them) against the
    captured metadata: none may be refused."""
    graph = [
        ("ocf:heartbeat:IPaddr2", {"ip": "1", "cidr_netmask": "24", "nic": "eth0"}),
        ("ocf:linbit:drbd", {"drbd_resource": "one-disk"}),
        ("ocf:heartbeat:Filesystem", {"device": "d", "directory": "/srv", "fstype": "ext4"}),
        ("ocf:heartbeat:nfsserver", {}),
        ("ocf:heartbeat:exportfs", {"clientspec": "n", "directory": "/srv", "fsid": "1",
                                    "options": "rw"}),
        ("ocf:heartbeat:AoEtarget", {"device": "d", "nic": "eth0", "shelf": "0", "slot": "0",
                                     "binary": "/usr/local/sbin/vblade-logged"}),
        ("stonith:fence_ipmilan", {"ip": "1", "username": "a", "lanplus": "1",
                                   "pcmk_host_list": "n", "pcmk_delay_max": "15s",
                                   "password": "x"}),
        ("lsb:lighttpd", {}),
        ("systemd:lighttpd", {}),
    ]
    for agent, params in graph:
        assert crm.check_resource_agent("resource", "r", agent, params=params) == [], agent
