"""crm_simulate / crm_attribute helpers shared by the failover tests on offline CIB files
(test_crm_failover.py: the graph applied by the states; test_pacemaker_resources.py: the
graph the real SLS wrote), and the check of the Pacemaker/DRBD guide's two constraints."""
import subprocess
import xml.etree.ElementTree as ET

ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def simulate(*args):
    proc = subprocess.run(["crm_simulate", "--output-as=xml", *map(str, args)],
                          capture_output=True, text=True, env=ENV, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def placement(xml_text):
    """{resource id: [(role, [nodes]), ...]} from crm_simulate's revised status."""
    status = ET.fromstring(xml_text).find("revised_cluster_status/resources")
    out = {}
    for res in status.iter("resource"):
        out.setdefault(res.get("id"), []).append(
            (res.get("role"), [n.get("name") for n in res.findall("node")]))
    return out


def promoted_on(place, rsc):
    return sorted(n for role, nodes in place[rsc] if role in ("Promoted", "Master") for n in nodes)


def set_promotion_score(cib, node, rsc, score):
    """What the linbit drbd agent does: master-<rsc> on <node>, lifetime reboot."""
    subprocess.run(["crm_attribute", "--node", node, "--name", f"master-{rsc}",
                    "--update", str(score), "--lifetime", "reboot"],
                   env=dict(ENV, CIB_file=str(cib)), check=True, capture_output=True)


def assert_seed_constraints(conf):
    """The Pacemaker/DRBD guide's ha_col (ha_group with both DRBD clones Promoted) and
    ha_after_drbd (both promote, then ha_group start) in a <configuration>."""
    col = conf.find("constraints/rsc_colocation[@id='ha_col']")
    assert col.get("score") == "INFINITY"
    assert [([r.get("id") for r in s], s.get("role")) for s in col.findall("resource_set")] == [
        (["ha_group"], None), (["ms_drbd_one", "ms_drbd_data"], "Promoted")]
    order = conf.find("constraints/rsc_order[@id='ha_after_drbd']")
    assert order.get("kind") == "Mandatory"
    assert [([r.get("id") for r in s], s.get("action")) for s in order.findall("resource_set")] == [
        (["ms_drbd_one", "ms_drbd_data"], "promote"), (["ha_group"], "start")]
