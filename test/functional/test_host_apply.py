"""opennebula.host applied for real by `salt-call --local` into tmp paths: /etc/hosts through
Salt's `hosts.file` minion option, chrony.conf and the ifupdown bond stanza through
opennebula:lookup overrides (packages, services and ifup switched off by lookup). chrony.conf
is checked by the real chronyd parser (`chronyd -p -f`). Second apply: zero changes."""
import subprocess


from conftest import example_pillar, require_tools

DEBIAN_HOSTS = "127.0.0.1\tlocalhost\n127.0.1.1\tcloud-cc01.lan.local cloud-cc01\n::1\tlocalhost ip6-localhost\n"


def host_pillar(tmp_path, interfaces_text="auto lo\niface lo inet loopback\n"):
    (tmp_path / "interfaces").write_text(interfaces_text)
    p = example_pillar()
    p["storage"]["variant"] = "ssh"
    p["cluster"]["bonds"] = {
        "cloud-cc01": {
            "bond0": {"mode": "balance-rr", "miimon": 100, "downdelay": 200, "updelay": 200,
                      "slaves": ["eth0", "eth1"], "network": "san", "mtu": 9000},
        }
    }
    p["cluster"]["time"] = {"servers": ["10.10.11.1", "ntp1.lan.local"]}
    p["opennebula"]["lookup"] = {
        "chrony": {"conf": str(tmp_path / "chrony.conf"), "pkgs": [], "service": ""},
        "bonding": {"interfaces_file": str(tmp_path / "interfaces"),
                    "interfaces_dir": str(tmp_path / "interfaces.d"), "pkgs": [], "ifup": False},
    }
    return p


def apply(salt_call, check=True):
    proc, data = salt_call.run("state.apply", "opennebula.host", check=False)
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc, data["local"]


def parse_hosts(text):
    out = {}
    for line in text.splitlines():
        fields = line.split("#")[0].split()
        if fields:
            out.setdefault(fields[0], []).extend(fields[1:])
    return out


@require_tools("chronyd")
def test_host_apply_hosts_time_bond_idempotent(salt_call, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text(DEBIAN_HOSTS)
    salt_call.configure(minion_id="cloud-cc01", pillar=host_pillar(tmp_path), extra={"hosts.file": str(hosts)})
    _, first = apply(salt_call)
    assert all(r["result"] is True for r in first.values()), first
    assert any(r["changes"] for r in first.values())

    h = parse_hosts(hosts.read_text())
    # every node and VIP on every network, FQDN first, short name on the storage network
    assert h["192.168.100.11"] == ["cloud-cc01.san.local", "cloud-cc01"]
    assert h["10.10.11.21"] == ["cloud-cc01.lan.local"]
    assert h["192.168.100.12"] == ["cloud-cc02.san.local", "cloud-cc02"]
    assert h["10.10.11.22"] == ["cloud-cc02.lan.local"]
    assert h["192.168.100.31"] == ["cloud-01.san.local", "cloud-01"]
    assert h["192.168.100.32"] == ["cloud-02.san.local", "cloud-02"]
    assert h["192.168.100.10"] == ["cloud-cc.san.local", "cloud-cc"]
    assert h["10.10.11.12"] == ["cloud-cc.lan.local"]
    # own names no longer on Debian's loopback line, localhost untouched
    assert not set(h.get("127.0.1.1", [])) & {"cloud-cc01", "cloud-cc01.lan.local", "cloud-cc01.san.local"}
    assert h["127.0.0.1"] == ["localhost"]
    # each name resolves to exactly one address
    names = [n for ip, ns in h.items() for n in ns if not ip.startswith(("127.", "::"))]
    assert len(names) == len(set(names))

    conf = (tmp_path / "chrony.conf").read_text()
    assert "server 10.10.11.1 iburst" in conf and "server ntp1.lan.local iburst" in conf
    assert "pool " not in conf  # servers given: no default pool
    parsed = subprocess.run(["chronyd", "-p", "-f", str(tmp_path / "chrony.conf")],
                            capture_output=True, text=True, check=False)
    assert parsed.returncode == 0, parsed.stderr
    assert "server 10.10.11.1 iburst" in parsed.stdout

    bond = (tmp_path / "interfaces.d" / "bond0").read_text()
    for line in ["auto bond0", "iface bond0 inet static", "address 192.168.100.11/24",
                 "bond-slaves eth0 eth1", "bond-mode balance-rr", "bond-miimon 100",
                 "bond-downdelay 200", "bond-updelay 200", "mtu 9000"]:
        assert line in bond
    assert (tmp_path / "interfaces").read_text().splitlines()[-1] == f"source {tmp_path}/interfaces.d/*"

    _, second = apply(salt_call)
    changed = {k: r["changes"] for k, r in second.items() if r["changes"]}
    assert changed == {}

    # interfaces that already source the directory the other way: kept as it is
    interfaces = tmp_path / "interfaces"
    lines = interfaces.read_text().splitlines()
    interfaces.write_text("\n".join(lines[:-1] + [f"  source-directory {tmp_path}/interfaces.d/  "]))
    before = interfaces.read_text()
    _, third = apply(salt_call)
    assert {k: r["changes"] for k, r in third.items() if r["changes"]} == {}
    assert interfaces.read_text() == before
    assert not (tmp_path / "interfaces.bak").exists()


def test_host_bond_slave_still_configured_fails(salt_call, tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text(DEBIAN_HOSTS)
    pillar = host_pillar(tmp_path, "auto lo\niface lo inet loopback\nallow-hotplug eth1\niface eth1 inet dhcp\n")
    salt_call.configure(minion_id="cloud-cc01", pillar=pillar, extra={"hosts.file": str(hosts)})
    proc, ret = apply(salt_call, check=False)
    assert proc.returncode != 0
    failed = {k: r for k, r in ret.items() if r["result"] is False}
    key = next(k for k in failed if "opennebula-host-bond-bond0-slaves-free" in k)
    assert "eth1 still configured" in failed[key]["comment"] or "eth1 still configured" in key
    assert not (tmp_path / "interfaces.d" / "bond0").exists()
