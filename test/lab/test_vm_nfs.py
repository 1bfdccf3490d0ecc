"""End-to-end checks of the NFSv4 guide (VARIANT=nfs) on the VM tier of the lab.

`make lab-vm-test VARIANT=nfs` (LAB=1, root): a dedicated NFSv4 server VM (one-nfs1), one
front-end (one-fe1, stack none) and one hypervisor (one-hv1) as QEMU TCG guests, the formula
applied with salt-ssh. Skipped unless LAB=1 and VARIANT=nfs.

  1. fresh VMs, first highstate succeeds everywhere; second highstate has zero changes
  2. the export on the server, the NFSv4 mount of storage:datastores_path on the clients
  3. a file written by oneadmin on the hypervisor is read on the front-end with oneadmin's
     name as owner (idmapd Domain identical everywhere: else NFSv4 shows nobody:nogroup)
  4. libvirt on the hypervisor configured for qemu+ssh (qemu.conf user/group = oneadmin,
     libvirtd running, `virsh -c qemu:///system` answers; oneadmin ssh between nodes)
"""
import time

from .conftest import need, vm_marks, vm_first_highstate, vm_highstate_zero_changes

VARIANT = "nfs"
pytestmark = vm_marks(VARIANT)

STATE = {}


def _need(*keys):
    need(STATE, *keys)


def test_first_highstate(vm):
    vm_first_highstate(vm, STATE)


def test_second_highstate_zero_changes(vm):
    vm_highstate_zero_changes(vm, STATE, "second")


def test_export_and_mounts(vm):
    _need("first")
    t = vm.topo
    NF = t.pillar["storage"]["nfs"]
    path = t.pillar["storage"].get("datastores_path", "/var/lib/one/datastores")
    server = NF["server"]
    e = vm.ssh(server, "exportfs -v")
    assert NF["export_path"] in e.stdout, f"{NF['export_path']} not exported on {server}: {e.stdout}{e.stderr}"
    mounts = {}
    for h in t.frontends + t.hypervisors:
        p = vm.ssh(h, f"findmnt -n -o SOURCE,FSTYPE {path}")
        mounts[h] = p.stdout.strip()
        assert p.returncode == 0 and "nfs4" in p.stdout, f"{path} not an nfs4 mount on {h}: {p.stdout}{p.stderr}"
    vm.fig("nfs", f"export {NF['export_path']} on {server}; mounts {mounts}")
    STATE["path"] = path


def test_oneadmin_file_owner_across_nodes(vm):
    _need("path")
    t = vm.topo
    hv, fe = t.hypervisors[0], t.frontends[0]
    f = f"{STATE['path']}/lab-e2e-{int(time.time())}"
    vm.ssh(hv, f"su -s /bin/sh oneadmin -c 'echo written-by-oneadmin > {f}' && sync", check=True)
    p = vm.ssh(fe, f"stat -c '%U:%G %u:%g' {f} && cat {f}", check=True)
    owner = vm.ssh(hv, "id -un oneadmin; id -gn oneadmin", check=True).stdout.split()
    vm.fig("oneadmin file across nodes", f"written on {hv}, seen on {fe} as {p.stdout.split()[0:2]}")
    assert p.stdout.split()[0] == f"{owner[0]}:{owner[1]}", f"owner on {fe}: {p.stdout} (want {owner})"
    assert "written-by-oneadmin" in p.stdout


def test_libvirt_ready_for_qemu_ssh(vm):
    _need("first")
    hv = vm.topo.hypervisors[0]
    conf = vm.ssh(hv, "grep -E '^(user|group|dynamic_ownership)\\b' /etc/libvirt/qemu.conf").stdout
    # Debian 12 socket-activates libvirtd (it exits when idle): the service or its socket
    active = vm.ssh(hv, "systemctl is-active libvirtd libvirtd.socket").stdout.split()
    virsh = vm.ssh(hv, "virsh -c qemu:///system version --daemon 2>&1 | head -3", timeout=60)
    vm.fig("libvirt", f"qemu.conf {conf.split()}; libvirtd {active}; virsh rc={virsh.returncode}")
    assert "oneadmin" in conf, f"qemu.conf user/group not oneadmin: {conf}"
    assert "active" in active, f"neither libvirtd nor libvirtd.socket active: {active}"
    assert virsh.returncode == 0, virsh.stdout + virsh.stderr
    fe = vm.topo.frontends[0]
    s = vm.ssh(fe, f"su -s /bin/sh oneadmin -c 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
                   f"-o UserKnownHostsFile=/dev/null {hv} virsh -c qemu:///system list --all'", timeout=90)
    vm.fig("qemu+ssh as oneadmin", f"{fe} -> {hv}: rc={s.returncode} {s.stdout.strip()[:200]} "
            f"{' '.join(ln for ln in s.stderr.splitlines() if 'Permanently added' not in ln)[:600]}")
    assert s.returncode == 0, f"oneadmin ssh {fe} -> {hv} virsh failed: {s.stdout}{s.stderr}"


def test_final_highstate_zero_changes(vm):
    vm_highstate_zero_changes(vm, STATE, "final")
