"""opennebula.node (hypervisors) and opennebula.node.kvmrc (front-ends): rendered by a real
`salt-call --local`, and applied for real into tmp copies of qemu.conf / kvmrc / the AppArmor
local abstraction (lookup overrides; packages, repo and libvirtd switched off)."""
import re

import pytest

from conftest import example_pillar, show_sls, state_arg as arg

# The user/group/dynamic_ownership block of Debian 12's /etc/libvirt/qemu.conf (libvirt 9.0.0),
# including the indented examples that a naive "uncomment" would turn into settings.
QEMU_CONF = """# The user for QEMU processes run by the system instance. It can be
# specified as a user name or as a user id. The qemu driver will try to
# parse this value first as a name and then, if the name doesn't exist,
# as a user id.
#
# Since a sequence of digits is a valid user name, a leading plus sign
# can be used to ensure that a user id will not be interpreted as a user
# name.
#
# Some examples of valid values are:
#
#       user = "qemu"   # A user named "qemu"
#       user = "+0"     # Super user (uid=0)
#       user = "100"    # A user named "100" or a user with uid=100
#
#user = "libvirt-qemu"

# The group for QEMU processes run by the system instance. It can be
# specified in a similar way to user.
#group = "libvirt-qemu"

# Whether libvirt should dynamically change file ownership
# to match the configured user/group above. Defaults to 1.
# Set to 0 to disable file ownership changes.
#dynamic_ownership = 1
"""
KVMRC = "export LANG=C\n\nexport LIBVIRT_URI=qemu:///system\n\nexport QEMU_PROTOCOL=qemu+ssh\n\n#export FORCE_DESTROY=yes\n"


def show(salt_call, minion, p, sls="opennebula.node"):
    return show_sls(salt_call, minion, p, sls)


@pytest.mark.render
def test_node_render_packages_and_values(salt_call):
    p = example_pillar()
    sls = show(salt_call, "cloud-01", p)
    assert arg(sls["opennebula-node-pkgs"], "pkgs") == ["opennebula-node-kvm"]
    assert "opennebula-node-repo" in sls
    assert arg(sls["opennebula-node-qemu-conf"], "key_values") == {
        "user": '"oneadmin"', "group": '"cloud"', "dynamic_ownership": 0}  # oneadmin's group
    assert arg(sls["opennebula-node-qemu-conf"], "name") == "/etc/libvirt/qemu.conf"
    # oneadmin joins libvirt (polkit: manage the system libvirtd over qemu+ssh) and kvm
    for g in ("libvirt", "kvm"):
        grp = sls[f"opennebula-node-oneadmin-group-{g}"]
        assert arg(grp, "argv") == ["gpasswd", "-a", "oneadmin", g]
        assert arg(grp, "onlyif") == [{"fun": "group.info", "name": g}]
        (member,) = arg(grp, "unless")
        assert member["fun"] == "file.search" and member["path"] == "/etc/group"
        pattern = re.compile(member["pattern"], re.M)
        assert pattern.search(f"x:x:1:\n{g}:x:64:qemu,oneadmin,libvirt-qemu\ny:x:2:\n")
        assert pattern.search(f"{g}:x:64:oneadmin\n")
        assert not pattern.search(f"{g}:x:64:qemu\noneadmin:x:1001:\n")
        assert not pattern.search(f"{g}:x:64:oneadmin2,xoneadmin\n{g}x:x:1:oneadmin\n")
    assert arg(sls["opennebula-node-apparmor-datastores"], "name") == "/etc/apparmor.d/local/abstractions/libvirt-qemu"
    assert arg(sls["opennebula-node-kvmrc"], "key_values") == {
        "export LIBVIRT_URI": "qemu+ssh:///system", "export QEMU_PROTOCOL": "qemu+ssh"}
    assert arg(sls["opennebula-node-libvirtd"], "name") == "libvirtd"
    # socket-activated libvirtd exits when idle: socket running, service enabled, try-restart
    assert "enabled" in sls["opennebula-node-libvirtd"]["service"]
    assert arg(sls["opennebula-node-libvirtd-socket"], "name") == "libvirtd.socket"
    assert arg(sls["opennebula-node-libvirtd-restart"], "argv") == ["systemctl", "try-restart", "libvirtd"]
    assert {"file": "opennebula-node-qemu-conf"} in arg(sls["opennebula-node-libvirtd-restart"], "onchanges")

    p["opennebula"]["install_packages"] = False
    p["opennebula"]["node"].update({"migrate_over_ssh": False, "apparmor_allow": False})
    sls = show(salt_call, "cloud-01", p)
    # without opennebula-node-kvm: libvirt + qemu and what its driver scripts run on the node
    assert arg(sls["opennebula-node-pkgs"], "pkgs") == [
        "libvirt-daemon-system", "qemu-system-x86", "libxml2-utils", "qemu-utils", "rsync", "ruby"]
    assert "opennebula-node-repo" not in sls and "opennebula-node-apparmor-datastores" not in sls
    assert arg(sls["opennebula-node-kvmrc"], "key_values")["export QEMU_PROTOCOL"] == "qemu+tls"
    assert "MIGRATE_OPTIONS" not in arg(sls["opennebula-node-kvmrc"], "key_values")

    # MIGRATE_OPTIONS only when the pillar sets it, quoted for the shell that sources kvmrc
    p["opennebula"]["node"]["migrate_options"] = "--unsafe --compressed"
    sls = show(salt_call, "cloud-01", p)
    assert arg(sls["opennebula-node-kvmrc"], "key_values")["MIGRATE_OPTIONS"] == '"--unsafe --compressed"'


@pytest.mark.render
def test_node_nothing_on_frontend_kvmrc_there(salt_call):
    p = example_pillar()
    assert show(salt_call, "cloud-cc01", p) == {}
    sls = show(salt_call, "cloud-cc01", p, sls="opennebula.node.kvmrc")
    assert arg(sls["opennebula-kvmrc-frontend"], "name") == "/var/lib/one/remotes/etc/vmm/kvm/kvmrc"
    assert show(salt_call, "cloud-01", p, sls="opennebula.node.kvmrc") == {}


@pytest.mark.render
def test_node_apply_into_tmp_idempotent(salt_call, tmp_path):
    (tmp_path / "qemu.conf").write_text(QEMU_CONF)
    (tmp_path / "kvmrc").write_text(KVMRC)
    p = example_pillar()
    p["opennebula"]["install_packages"] = False
    p["opennebula"]["lookup"] = {
        # a group this host does not have: the membership state is skipped, not invented
        "libvirt": {"qemu_conf": str(tmp_path / "qemu.conf"), "service": "", "pkgs": [],
                    "groups": ["onelab-test-no-such-group"],
                    "apparmor_local": str(tmp_path / "apparmor" / "libvirt-qemu")},
        "kvmrc": {"node_path": str(tmp_path / "kvmrc")},
    }
    salt_call.configure(minion_id="cloud-01", pillar=p)
    proc, data = salt_call.run("state.apply", "opennebula.node", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert all(r["result"] is True for r in data["local"].values())
    grp = next(r for k, r in data["local"].items() if "opennebula-node-oneadmin-group-" in k)
    assert grp["changes"] == {} and "onlyif" in grp["comment"], grp

    # libvirt's qemu.conf: key = value, strings quoted; the last assignment wins
    settings = {}
    for line in (tmp_path / "qemu.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, v = (x.strip() for x in line.split("=", 1))
            settings[k] = v
    assert settings == {"user": '"oneadmin"', "group": '"cloud"', "dynamic_ownership": "0"}
    assert '#       user = "qemu"   # A user named "qemu"' in (tmp_path / "qemu.conf").read_text()

    kvmrc = (tmp_path / "kvmrc").read_text().splitlines()
    assert "export LIBVIRT_URI=qemu+ssh:///system" in kvmrc and "export QEMU_PROTOCOL=qemu+ssh" in kvmrc
    assert "export LANG=C" in kvmrc and "#export FORCE_DESTROY=yes" in kvmrc

    rules = [l.strip() for l in (tmp_path / "apparmor" / "libvirt-qemu").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    assert rules == ["/var/lib/one/datastores/ r,", "/var/lib/one/datastores/** rwk,"]

    proc, data = salt_call.run("state.apply", "opennebula.node", check=False)
    assert {k: r["changes"] for k, r in data["local"].items() if r["changes"]} == {}
