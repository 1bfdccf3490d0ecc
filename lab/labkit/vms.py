"""vms: the VM tier of the lab (QEMU TCG guests), `make lab VARIANT=drbd_aoe_lvm|nfs`.

Why VMs: DRBD, AoE, kernel NFS and LVM-on-DRBD need kernel modules the host cannot load, so
these storage variants run in QEMU guests (-accel tcg: /dev/kvm here only takes PVM guests)
booted from a cached Debian bookworm image with the cloud kernel (lab/image/build.sh vm).
The container tier (labkit.containers) stays the default.

Layout (everything under .lab/vm/, git-ignored):
  image/      base.raw + vmlinuz + initrd.img (cached, stamped)
  hosts/<h>/  root.qcow2 (overlay on base.raw), drbd-<res>.raw (front-ends), seed.img (ext4
              "labseed" made with mkfs.ext4 -d: hostname, networkd per MAC, ssh host key,
              authorized_keys, /etc/hosts), qemu.pid (PID + start time),
              console.log
  ssh/        lab key, known_hosts (host keys generated here: no trust on first use)
  salt-ssh/   master + roster from lab/templates/ (labkit.saltrun, as the container tier)
  fileroot/   symlink farm onto the repo's formula dirs (NOT the repo root)
  gen/pillar/ lab_secrets.sls (random per .lab/vm, never committed)
Network: a network namespace the lab owns (onelabvm) with one bridge per cluster network
(gateway .1 of each range) and one tap per VM NIC; nothing in it is routed anywhere: the VMs
reach only each other and the host-side bridge addresses. salt-ssh and ssh run inside the
netns (ip netns exec). Pillar: lab/vm/pillar/<variant>/ (plain YAML: the topology is read
from it). Every qemu is tracked by PID + start time; nothing is stopped by name. A failing
`up` undoes what that run made (netns, VMs it started) and ends with one line saying what
failed and what to do. The operations at the end (up, reapply, down, status, ssh_exec,
crash, boot, link) are what the CLI (labkit.cli), labkit.vmlab and the tests call.
"""
import functools
import json
import os
import shutil
import signal

from labkit import core, hosts, saltrun
from labkit.core import LAB, LABSRC

PREFIX = "lab-vm"
VENV = core.VENV  # the tests run salt-ssh from it
log = core.logger(PREFIX)
run = functools.partial(core.run, prefix=PREFIX)
VMLAB = LAB / "vm"
DIRS = core.Dirs(VMLAB)
HOSTS_DIR, KEY, KNOWN_HOSTS, SSH_CONF = DIRS.hosts, DIRS.key, DIRS.known_hosts, DIRS.ssh_conf
GEN_PILLAR, TIMINGS = DIRS.gen_pillar, DIRS.timings
save_timing = functools.partial(core.save_timing, TIMINGS)
NS = os.environ.get("LAB_VM_NETNS", "onelabvm")
IMAGE = VMLAB / "image"
VARIANT_FILE = VMLAB / "variant"
VARIANTS = ("drbd_aoe_lvm", "nfs")
MEM_FE = int(os.environ.get("LAB_VM_MEM_FE", "1536"))
MEM_OTHER = int(os.environ.get("LAB_VM_MEM", "1024"))
DRBD_DISK_MB = int(os.environ.get("LAB_VM_DRBD_MB", "256"))
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
# SBD fencing hardware for the front-ends, when the variant's lab pillar enables
# pacemaker:stonith:sbd (LAB_VM_SBD=1 / 0 forces it): one small raw disk shared by every
# front-end (guest: /dev/disk/by-id/virtio-<SBD_SERIAL>); the watchdog is softdog.
SBD_DISK_MB = int(os.environ.get("LAB_VM_SBD_MB", "8"))
SBD_SERIAL = "sbd0"
SBD_PCI_SLOT = "0x1f"
SHARED = VMLAB / "shared"


def need_root():
    core.need_root(PREFIX, "netns, taps")


# ---------------------------------------------------------------- variant + topology
def current_variant(requested=None):
    return core.pick_variant(requested, VARIANT_FILE, VARIANTS, "drbd_aoe_lvm", PREFIX, "VM")


def pillar_dir(variant):
    return LABSRC / "vm" / "pillar" / variant


class Topo(core.Topo):
    """Hosts, addresses, networks and DRBD disks of one variant's lab pillar."""

    ROLES = ("frontends", "storage_servers", "hypervisors")

    def __init__(self, variant):
        super().__init__(core.lab_pillar(pillar_dir(variant), GEN_PILLAR))
        self.variant = variant
        self.netnames = sorted(self.networks, key=lambda n: (n != "san", n))  # san = eth0
        self.storage_servers = sorted(self.pillar["cluster"].get("storage_servers") or {})
        # DRBD backing disks on the front-ends, in minor order: vdb, vdc, ...
        res = (self.pillar.get("drbd") or {}).get("resources") or {}
        self.drbd = sorted(res.items(), key=lambda kv: kv[1].get("minor", 0)) \
            if variant == "drbd_aoe_lvm" else []
        self.sbd = sbd_wanted(self.pillar)

    def idx(self, host):
        return self.hosts.index(host) + 1

    def mac(self, host, net):
        return f"52:54:00:4c:{self.idx(host):02x}:{self.netnames.index(net) + 1:02x}"

    def tap(self, host, net):
        return f"v{self.idx(host)}{net}"[:15]

    def bridge(self, net):
        return f"br{net}"[:15]

    def nics(self, host):
        """[(net, eth name in the guest, mac, tap)] for the networks the host has an address on."""
        out = []
        for i, net in enumerate(n for n in self.netnames if n in self.addrs[host]):
            out.append((net, f"eth{i}", self.mac(host, net), self.tap(host, net)))
        return out


def sbd_wanted(pillar, env=None):
    """The SBD hardware (shared disk + watchdog) is attached when LAB_VM_SBD is 1 (0: never),
    else when the lab pillar enables pacemaker:stonith:sbd."""
    env = os.environ.get("LAB_VM_SBD") if env is None else env
    if env in ("0", "1"):
        return env == "1"
    stonith = ((pillar or {}).get("pacemaker") or {}).get("stonith") or {}
    return (stonith.get("sbd") or {}).get("enabled") is True


def sbd_disk():
    return SHARED / "sbd.raw"


def sbd_args(topo, host):
    """qemu arguments of a front-end's SBD disk ([] when off or not a front-end): the shared
    raw file, writable by every front-end's qemu at once (image locking off, share-rw), in
    the LAST PCI slot: QEMU creates -device before the if=virtio drives, and the guest names
    virtio disks in PCI order, so without the slot the SBD disk took vda (measured: the root
    was not found). The watchdog is softdog in the guests (the lab pillar): Debian's cloud
    kernel has no driver for QEMU's emulated watchdog (CONFIG_I6300ESB_WDT unset)."""
    if not topo.sbd or host not in topo.frontends:
        return []
    return ["-drive", f"file={sbd_disk()},format=raw,if=none,id=sbd,file.locking=off",
            "-device", f"virtio-blk-pci,drive=sbd,share-rw=on,serial={SBD_SERIAL},addr={SBD_PCI_SLOT}"]


# ---------------------------------------------------------------- network namespace
def ns(*argv):
    return ["ip", "netns", "exec", NS, *map(str, argv)]


def net_up(topo):
    if NS not in run(["ip", "netns", "list"]).stdout.split():
        run(["ip", "netns", "add", NS])
    (VMLAB / "netns").write_text(NS + "\n")
    run(["ip", "-n", NS, "link", "set", "lo", "up"])
    links = run(["ip", "-n", NS, "-o", "link"]).stdout
    for net in topo.netnames:
        br = topo.bridge(net)
        if f" {br}:" not in links:
            run(["ip", "-n", NS, "link", "add", br, "type", "bridge"])
        # no STP, no forwarding delay: a tap that comes back forwards at once
        run(["ip", "-n", NS, "link", "set", br, "type", "bridge", "stp_state", "0", "forward_delay", "0"])
        run(["ip", "-n", NS, "addr", "replace", f"{topo.gw(net)}/{topo.networks[net].prefixlen}", "dev", br])
        run(["ip", "-n", NS, "link", "set", br, "up"])
    for host in topo.hosts:
        for net, _eth, _mac, tap in topo.nics(host):
            if f" {tap}:" not in links:
                run(["ip", "-n", NS, "tuntap", "add", "dev", tap, "mode", "tap"])
            run(["ip", "-n", NS, "link", "set", tap, "master", topo.bridge(net), "up"])


def net_down():
    if NS in run(["ip", "netns", "list"]).stdout.split():
        run(["ip", "netns", "del", NS])
    (VMLAB / "netns").unlink(missing_ok=True)


def set_link(topo, host, net, state):
    tap = topo.tap(host, net)
    run(["ip", "-n", NS, "link", "set", tap, state])
    if state == "up":
        run(["ip", "-n", NS, "link", "set", tap, "master", topo.bridge(net)])


SPLIT_TABLE = "onelab_split"


def partition(topo, a, b, on=True):
    """Cut (on) or heal (off) every frame between VMs a and b on every lab bridge: an nft
    bridge table in the lab's netns (gone with the netns). Both keep their links to the
    host (ssh) and to the other VMs: only the two cannot reach each other."""
    if not on:
        run(ns("nft", "delete", "table", "bridge", SPLIT_TABLE), check=False)
        return
    rules = [f"table bridge {SPLIT_TABLE} {{", "  chain forward {",
             "    type filter hook forward priority 0; policy accept;"]
    for *_n, ta in topo.nics(a):
        for *_m, tb in topo.nics(b):
            rules += [f'    iifname "{ta}" oifname "{tb}" drop', f'    iifname "{tb}" oifname "{ta}" drop']
    rules += ["  }", "}", ""]
    run(ns("nft", "-f", "-"), input="\n".join(rules))


# ---------------------------------------------------------------- image, key
def build_image():
    core.build_image("vm", LAB, f"{PREFIX}: image build failed (see .lab/vm/log/)")


def ensure_key():
    core.ensure_key(KEY, "onelab-vm", prefix=PREFIX)


# ---------------------------------------------------------------- VMs
def hdir(host):
    return HOSTS_DIR / host


def qemu_pid(host):
    return core.recorded_pid(hdir(host) / "qemu.pid")


def make_seed(topo, host):
    """Per-VM seed disk: an ext4 image (label labseed) built with mkfs.ext4 -d."""
    h = hdir(host)
    sd = h / "seed"
    shutil.rmtree(sd, ignore_errors=True)
    (sd / "network").mkdir(parents=True)
    (sd / "ssh").mkdir()
    (sd / "hostname").write_text(host + "\n")
    for net, eth, mac, _tap in topo.nics(host):
        gw = f"Gateway={topo.gw(net)}\n" if net == topo.mgmt_net else ""
        (sd / "network" / f"10-onelab-{net}.network").write_text(
            f"[Match]\nMACAddress={mac}\n\n[Network]\n"
            f"Address={topo.addrs[host][net]}/{topo.networks[net].prefixlen}\n{gw}"
            "LinkLocalAddressing=no\nIPv6AcceptRA=no\n")
    keys = h / "hostkeys"
    keys.mkdir(exist_ok=True)
    if not (keys / "ssh_host_ed25519_key").exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{host}",
             "-f", keys / "ssh_host_ed25519_key"])
    for f in keys.iterdir():
        shutil.copy(f, sd / "ssh" / f.name)
    shutil.copy(f"{KEY}.pub", sd / "authorized_keys")
    hosts = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback"]
    for other in topo.hosts:
        hosts.append(f"{topo.ip(other)} {other}")
    (sd / "hosts").write_text("\n".join(hosts) + "\n")
    img = h / "seed.img"
    img.unlink(missing_ok=True)
    run(["truncate", "-s", "16M", img])
    run(["mkfs.ext4", "-q", "-F", "-L", "labseed", "-d", sd, img])


def write_known_hosts(topo):
    core.write_known_hosts(KNOWN_HOSTS, topo, topo.netnames,
                           lambda host: hdir(host) / "hostkeys" / "ssh_host_ed25519_key.pub")


def qemu_argv(topo, host):
    """The qemu command line of one VM (its disks must exist: start_vm makes them)."""
    h = hdir(host)
    drives = [f"file={h / 'root.qcow2'},if=virtio,format=qcow2,cache=unsafe,discard=unmap"]
    if host in topo.frontends:
        for name, _res in topo.drbd:
            drives.append(f"file={h / f'drbd-{name}.raw'},if=virtio,format=raw,cache=writeback")
    drives.append(f"file={h / 'seed.img'},if=virtio,format=raw,readonly=on")
    mem = MEM_FE if host in topo.frontends else MEM_OTHER
    argv = [QEMU, "-accel", "tcg", "-cpu", "max", "-smp", "1", "-m", str(mem), "-name", host,
            "-pidfile", h / "qemu.pidfile", "-daemonize", "-display", "none", "-monitor", "none",
            "-serial", f"file:{h / 'console.log'}", "-kernel", IMAGE / "vmlinuz",
            "-initrd", IMAGE / "initrd.img",
            "-append", f"console=ttyS0 root=/dev/vda rw net.ifnames=0 systemd.hostname={host}",
            "-device", "virtio-rng-pci"]
    for d in drives:
        argv += ["-drive", d]
    for net, _eth, mac, tap in topo.nics(host):
        argv += ["-netdev", f"tap,id={net},ifname={tap},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev={net},mac={mac}"]
    return argv + sbd_args(topo, host)


def start_vm(topo, host):
    h = hdir(host)
    h.mkdir(parents=True, exist_ok=True)
    root = h / "root.qcow2"
    if not root.exists():
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", IMAGE / "base.raw", "-F", "raw", root])
    make_seed(topo, host)
    if host in topo.frontends:
        for name, _res in topo.drbd:
            disk = h / f"drbd-{name}.raw"
            if not disk.exists():
                run(["truncate", "-s", f"{DRBD_DISK_MB}M", disk])
    if sbd_args(topo, host) and not sbd_disk().exists():
        SHARED.mkdir(parents=True, exist_ok=True)
        run(["truncate", "-s", f"{SBD_DISK_MB}M", sbd_disk()])  # zeroed: sbd.device_present writes the header
    argv = qemu_argv(topo, host)
    (h / "qemu.argv").write_text(" ".join(map(str, argv)) + "\n")
    run(ns(*argv))
    pid = int((h / "qemu.pidfile").read_text().split()[0])
    core.record_pid(h / "qemu.pid", pid)
    return pid


def ssh_argv(topo, host, *cmd, timeout=5):
    """ssh with the VM lab's key and known_hosts, inside the lab's netns."""
    return ns(*core.ssh_argv(topo.ip(host), *cmd, key=KEY, known_hosts=KNOWN_HOSTS, timeout=timeout))


def ssh(topo, host, cmd, timeout=120, check=False):
    """Run a shell command on a VM; returns CompletedProcess (text)."""
    return core.run_ssh(ssh_argv(topo, host, cmd), host, cmd, timeout, check)


def wait_ssh(topo, names, t0, timeout=300):
    """Seconds from t0 until ssh answers, per host."""
    def ready(host):
        if not qemu_pid(host):
            raise SystemExit(f"{PREFIX}: {host} qemu exited, see {hdir(host) / 'console.log'}")
        return ssh(topo, host, "true", timeout=15).returncode == 0

    up, pending = core.wait_hosts(
        names, ready, timeout, core.Ticker("booting", out=log),
        lambda p: f"waiting for ssh on {', '.join(p)} (TCG boots take 1-3 min here)", 1)
    if pending:
        raise SystemExit(f"{PREFIX}: {pending} no ssh after {timeout}s (see {HOSTS_DIR}/<host>/console.log)")
    return {h: round(t - t0, 1) for h, t in up.items()}


def stop_vm(host, purge=False, signalled=False):
    pid = qemu_pid(host)
    if pid:
        core.stop_pid(pid, host, sig=None if signalled else signal.SIGTERM, grace=15, out=log)
    (hdir(host) / "qemu.pid").unlink(missing_ok=True)
    if purge:
        shutil.rmtree(hdir(host), ignore_errors=True)


def crash_vm(host):
    """SIGKILL the VM's qemu: a power cut (the guest gets no chance to do anything)."""
    pid = qemu_pid(host)
    if not pid:
        raise SystemExit(f"{PREFIX}: {host} is not running")
    core.kill_now(pid, timeout=30, interval=0.05)
    (hdir(host) / "qemu.pid").unlink(missing_ok=True)


def vm_has_state(host):
    """True if the VM's disk kept an earlier run's state (lab-down without PURGE)."""
    return (hdir(host) / "root.qcow2").exists()


HOSTS = hosts.HostSet("VM", log, TIMINGS, topo=lambda: Topo(current_variant()), need_root=need_root,
                      steps=dict(pid=qemu_pid, has_state=vm_has_state, start=start_vm, stop=stop_vm,
                                 wait=wait_ssh, known_hosts=write_known_hosts, crash=crash_vm,
                                 ssh_argv=ssh_argv),
                      kept_what="disks", boot_note=" (qemu -accel tcg)", killed="qemu")


def vms_up(topo, undo=None):
    """Boot the VMs that do not run; returns (started, kept)."""
    return HOSTS.up(topo, undo)


# ---------------------------------------------------------------- salt-ssh
def salt_configs(topo):
    """.lab/vm/salt-ssh/{master,roster} from lab/templates/, as the container tier's."""
    saltrun.salt_ssh_configs(DIRS, topo, pillar_dir(topo.variant))


def highstate(topo, sls=None, test=False, hosts=None, timeout=5400, extra=(), label=None):
    """One highstate (or state.sls) through salt-ssh run inside the lab netns, a line per VM
    as it returns and a heartbeat while they run. Returns (seconds, summary, raw)."""
    hosts = hosts or topo.hosts
    argv = ns(*saltrun.salt_ssh_argv(DIRS, ["-L", ",".join(hosts)], saltrun.state_fun(sls, test, extra=extra)))
    return saltrun.run_states(argv, hosts, label or sls or "highstate", timeout, out=log,
                              heartbeat=15, note=" (TCG: minutes)")


print_summary = functools.partial(saltrun.print_summary, out=log)
ok = saltrun.ok


def record(topo, label, secs, summ):
    save_timing(["highstate", topo.variant, label], saltrun.timing(secs, summ))


def apply(topo, label="highstate", hosts=None):
    secs, summ, raw = highstate(topo, hosts=hosts, label=label)
    print_summary(f"{label} (salt-ssh, VMs)", secs, summ)
    record(topo, label, secs, summ)
    return secs, summ, raw


# ---------------------------------------------------------------- operations
def running_hosts():
    return sorted(p.name for p in HOSTS_DIR.iterdir() if qemu_pid(p.name)) if HOSTS_DIR.is_dir() else []


UP_HINTS = {
    "checking the machine": "`make lab-check VARIANT=<variant>` lists what is missing; `make lab VARIANT=<variant>` installs it",
    "the VM image": "read .lab/vm/log/; `make lab VARIANT=<variant>` builds the image again",
    "the lab network": "`make lab-status VARIANT=<variant>` shows what holds the netns",
    "booting the VMs": "read .lab/vm/hosts/<host>/console.log; `make lab VARIANT=<variant>` boots them again",
}


def up(variant=None, no_apply=False):
    """Image, netns, VMs, then one highstate. A failure before the highstate undoes what this
    run made; a failing highstate leaves the VMs up to look at."""
    undo = core.Undo(out=log)
    step = "checking the machine"
    shown = variant or "<variant>"
    try:
        need_root()
        core.require_tools("vm", prefix=PREFIX)
        VMLAB.mkdir(parents=True, exist_ok=True)
        running = running_hosts()
        old = VARIANT_FILE.read_text().strip() if VARIANT_FILE.exists() else None
        variant = shown = current_variant(variant)
        if running and old and old != variant:
            raise SystemExit(f"{PREFIX}: a {old} lab runs ({', '.join(running)}): make lab-down VARIANT={old} first")
        if old and old != variant and HOSTS_DIR.is_dir():
            log(f"variant changed {old} -> {variant}: purging the old VMs' disks")
            for h in list(HOSTS_DIR.iterdir()):
                shutil.rmtree(h, ignore_errors=True)
        VARIANT_FILE.write_text(variant + "\n")
        core.gen_secrets(GEN_PILLAR, prefix=PREFIX)
        topo = Topo(variant)
        step = "the VM image"
        if not running:
            build_image()
        else:
            log("VMs running: image rebuild skipped (make lab-down first to rebuild)")
        ensure_key()
        step = "the lab network"
        if NS not in run(["ip", "netns", "list"]).stdout.split():
            undo.add(f"netns {NS}", net_down)
        net_up(topo)
        salt_configs(topo)
        step = "booting the VMs"
        started, kept = vms_up(topo, undo)
    except (SystemExit, Exception, KeyboardInterrupt) as e:
        hint = UP_HINTS[step].replace("<variant>", shown)
        raise core.failed_run(PREFIX, step, e, undo, hint, DIRS.failure_log) from None
    if no_apply:
        return 0
    first = set(started) == set(topo.hosts) and not kept
    _secs, summ, _raw = apply(topo, label="first highstate" if first else "highstate")
    if ok(summ):
        return 0
    log("the highstate failed (above); the VMs stay up to look at: "
        f"`make lab-ssh VARIANT={variant} H=<host>`, `make lab-down VARIANT={variant}` to stop")
    return 1


def reapply(sls=None, test=False, show_json=False, hosts=None):
    """One more highstate (or state.sls) on the running VM lab (`hosts`: some VMs only)."""
    topo = Topo(current_variant())
    salt_configs(topo)
    secs, summ, raw = highstate(topo, sls=sls, test=test, hosts=hosts)
    print_summary(f"{sls or 'highstate'} (salt-ssh, VMs)", secs, summ)
    for h, s in summ.items():
        if s["changed"]:
            log(f"  {h} changed: {', '.join(s['changed'])}")
    if show_json:
        print(json.dumps(raw, indent=1))
    return 0 if ok(summ) else 1


def down(purge=False):
    need_root()
    HOSTS.stop_all(sorted(p.name for p in HOSTS_DIR.iterdir()) if HOSTS_DIR.is_dir() else [], purge)
    net_down()
    if purge:
        shutil.rmtree(SHARED, ignore_errors=True)
        VARIANT_FILE.unlink(missing_ok=True)
        KNOWN_HOSTS.unlink(missing_ok=True)
        shutil.rmtree(SSH_CONF, ignore_errors=True)
    log("down" + (" (VM disks purged; image kept)" if purge else ""))
    return 0


def status():
    if not VARIANT_FILE.exists():
        log("no VM lab (make lab VARIANT=drbd_aoe_lvm|nfs)")
        return 0
    topo = Topo(current_variant())
    log(f"variant {topo.variant}, netns {NS}: "
        f"{'present' if NS in run(['ip', 'netns', 'list']).stdout.split() else 'absent'}")
    for host in topo.hosts:
        pid = qemu_pid(host)
        log(f"{host:10} {topo.ip(host):15} " + (f"qemu pid {pid}" if pid else "down"))
    core.show_timings(TIMINGS, log)
    return 0


ssh_exec, crash, boot = HOSTS.ssh_exec, HOSTS.crash_one, HOSTS.boot_one


def link(host, net, state):
    need_root()
    set_link(Topo(current_variant()), host, net, state)
    log(f"{host} {net}: {state}")
    return 0
