"""opennebula.host rendered by a real `salt-call --local state.show_sls`: hosts names per
network, short-name network, bonds per minion, chrony sources, non-Debian bond refusal."""
import pytest

from conftest import example_pillar, show_sls, state_arg as arg


def show(salt_call, minion, pillar, grains=None, sls="opennebula.host"):
    return show_sls(salt_call, minion, pillar, sls, grains)


@pytest.mark.render
def test_hosts_short_names_on_lan_and_time_pools(salt_call):
    p = example_pillar()
    p["cluster"]["hosts"] = {"short_names": "lan"}
    p["cluster"]["time"] = {"pools": ["pool.lan.local"]}
    sls = show(salt_call, "cloud-01", p)
    assert arg(sls["opennebula-host-hosts-cloud-cc01-lan"], "hostnames") == ["cloud-cc01.lan.local", "cloud-cc01"]
    assert arg(sls["opennebula-host-hosts-cloud-cc01-san"], "hostnames") == ["cloud-cc01.san.local"]
    # hypervisors have no lan address: short name stays on their first network
    assert arg(sls["opennebula-host-hosts-cloud-01-san"], "hostnames") == ["cloud-01.san.local", "cloud-01"]
    assert arg(sls["opennebula-host-hosts-vip-lan"], "hostnames") == ["cloud-cc.lan.local", "cloud-cc"]
    assert {"opennebula-host-hosts-loopback-cloud-01", "opennebula-host-hosts-loopback-cloud-01.san.local"} <= set(sls)
    assert not [i for i in sls if i.startswith("opennebula-host-bond-")]  # no bond for cloud-01
    ctx = arg(sls["opennebula-host-time-conf"], "context")
    assert ctx["servers"] == [] and ctx["pools"] == ["pool.lan.local"]
    assert arg(sls["opennebula-host-time-service"], "name") == "chrony"


@pytest.mark.render
def test_time_default_pool_and_disabled(salt_call):
    p = example_pillar()
    sls = show(salt_call, "cloud-cc01", p)
    assert arg(sls["opennebula-host-time-conf"], "context")["pools"] == ["2.debian.pool.ntp.org"]
    p["cluster"]["time"] = {"enabled": False}
    sls = show(salt_call, "cloud-cc01", p)
    assert not [i for i in sls if i.startswith("opennebula-host-time-")]


@pytest.mark.render
def test_bond_context_of_the_pacemaker_drbd_guide(salt_call):
    p = example_pillar()
    p["cluster"]["bonds"] = {"cloud-cc01": {"bond0": {"mode": "balance-rr", "miimon": 100, "downdelay": 200,
                                                      "updelay": 200, "slaves": ["eth0", "eth1"], "network": "san"}}}
    sls = show(salt_call, "cloud-cc01", p)
    ctx = arg(sls["opennebula-host-bond-bond0-config"], "context")
    assert ctx["address"] == "192.168.100.11/24" and ctx["slaves"] == ["eth0", "eth1"]
    assert (ctx["mode"], ctx["miimon"], ctx["downdelay"], ctx["updelay"], ctx["mtu"]) == ("balance-rr", 100, 200, 200, None)
    assert arg(sls["opennebula-host-bond-bond0-up"], "argv") == ["ifup", "bond0"]
    assert arg(sls["opennebula-host-bond-bond0-up"], "unless") == [
        {"fun": "file.directory_exists", "args": ["/sys/class/net/bond0/bonding"]}]
    assert arg(sls["opennebula-host-bond-pkgs"], "pkgs") == ["ifupdown", "ifenslave"]
    # the other front-end gets no bond
    assert not [i for i in show(salt_call, "cloud-cc02", p) if i.startswith("opennebula-host-bond-")]


@pytest.mark.render
def test_bond_refused_outside_ifupdown(salt_call):
    p = example_pillar()
    p["opennebula"]["ha"]["stack"] = "rgmanager"
    p["storage"]["variant"] = "ssh"
    p["cluster"]["vips"].pop("san")  # rgmanager's service carries the lan VIP only
    p["cluster"]["bonds"] = {"cloud-cc01": {"bond0": {"slaves": ["eth0", "eth1"], "network": "san"}}}
    sls = show(salt_call, "cloud-cc01", p, grains={"os_family": "RedHat", "os": "CentOS"})
    assert "Debian ifupdown only" in arg(sls["opennebula-host-bond-unsupported"], "name")
    assert arg(sls["opennebula-host-time-service"], "name") == "chronyd"
