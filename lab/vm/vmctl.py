#!/usr/bin/env python3
"""vmctl: the VM tier of the opennebula-ha-formula lab (QEMU TCG guests).

    vmctl.py up [--variant drbd_aoe_lvm|nfs] [--no-apply]  image (cached) + netns + VMs + highstate
    vmctl.py apply [--sls X] [--test] [--json] [--hosts a,b]  one highstate (or state.sls X)
    vmctl.py down [--purge]                       stop VMs by PID, delete the lab's netns
    vmctl.py status                               what runs (PIDs), last timings
    vmctl.py ssh HOST [--] [CMD...]               root shell / command on a VM
    vmctl.py crash HOST | boot HOST               SIGKILL a VM's qemu (power cut) / boot it again
    vmctl.py link HOST NET up|down                cut / restore a VM's NIC on one lab network

Why VMs: DRBD, AoE, kernel NFS and LVM-on-DRBD need kernel modules the host cannot load, so
these storage variants (VARIANT=drbd_aoe_lvm, VARIANT=nfs) run in QEMU guests (-accel tcg:
/dev/kvm here only takes PVM guests) booted from a cached Debian bookworm image with the
cloud kernel (lab/vm/build-image.sh). The container tier (lab/labctl.py) stays the default.

Layout (everything under .lab/vm/, git-ignored):
  image/      base.raw + vmlinuz + initrd.img (cached, stamped)
  hosts/<h>/  root.qcow2 (overlay on base.raw), drbd-<res>.raw (front-ends), seed.img (ext4
              "labseed" made with mkfs.ext4 -d: hostname, networkd per MAC, ssh host key,
              authorized_keys, /etc/hosts), qemu.pid (PID + start time),
              console.log
  ssh/        lab key, known_hosts (host keys generated here: no trust on first use)
  salt-ssh/   master + roster from lab/templates/ (the container tier's templates)
  fileroot/   symlink farm onto the repo's formula dirs (NOT the repo root)
  gen/pillar/ lab_secrets.sls (random per .lab/vm, never committed)
Network: a network namespace the lab owns (onelabvm) with one bridge per cluster network
(gateway .1 of each range) and one tap per VM NIC; nothing in it is routed anywhere: the VMs
reach only each other and the host-side bridge addresses. salt-ssh and ssh run inside the
netns (ip netns exec). Pillar: lab/vm/pillar/<variant>/ (plain YAML: the topology is read
from it). Every qemu is tracked by PID + start time; nothing is stopped by name. A failing
`up` undoes what that run made (netns, VMs it started) and ends with one line saying what
failed and what to do.
"""
import argparse
import importlib.util
import ipaddress
import json
import os
import pathlib
import shutil
import signal
import string
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
LABSRC = REPO / "lab"
_lab = pathlib.Path(os.environ.get("LAB_DIR", REPO / ".lab"))
VMLAB = _lab / "vm"
_venv = pathlib.Path(os.environ.get("VENV", ".venv"))
VENV = _venv if _venv.is_absolute() else REPO / _venv
NS = os.environ.get("LAB_VM_NETNS", "onelabvm")
IMAGE = VMLAB / "image"
HOSTS_DIR = VMLAB / "hosts"
KEY = VMLAB / "ssh" / "id_ed25519"
KNOWN_HOSTS = VMLAB / "ssh" / "known_hosts"
SSH_CONF = VMLAB / "salt-ssh"
FILEROOT = VMLAB / "fileroot"
GEN_SALT = VMLAB / "gen" / "salt"
GEN_PILLAR = VMLAB / "gen" / "pillar"
TIMINGS = VMLAB / "timings.json"
VARIANT_FILE = VMLAB / "variant"
VARIANTS = ("drbd_aoe_lvm", "nfs")
MEM_FE = int(os.environ.get("LAB_VM_MEM_FE", "1536"))
MEM_OTHER = int(os.environ.get("LAB_VM_MEM", "1024"))
DRBD_DISK_MB = int(os.environ.get("LAB_VM_DRBD_MB", "256"))
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")


def _load_labctl():
    """The container tier's labctl, imported from its file under a private name (PID
    bookkeeping, highstate summary, secrets generator are shared, not copied)."""
    spec = importlib.util.spec_from_file_location("onehalab_vm_labctl", LABSRC / "labctl.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


labctl = _load_labctl()
proc_start, record_pid, recorded_pid = labctl.proc_start, labctl.record_pid, labctl.recorded_pid
pid_alive, summarize, print_summary, ok = labctl.pid_alive, labctl.summarize, labctl.print_summary, labctl.ok


def log(*a):
    print("lab-vm:", *a, flush=True)


def now():
    return time.monotonic()


def run(argv, check=True, **kw):
    return labctl.run(argv, check=check, prefix="lab-vm", **kw)


def save_timing(path, value):
    labctl.save_timing(path, value, timings=TIMINGS)


# ---------------------------------------------------------------- variant + topology
def current_variant(requested=None):
    running = VARIANT_FILE.read_text().strip() if VARIANT_FILE.exists() else None
    v = requested or running or os.environ.get("VARIANT") or "drbd_aoe_lvm"
    if v not in VARIANTS:
        raise SystemExit(f"lab-vm: VARIANT={v}: the VM tier runs {', '.join(VARIANTS)}")
    return v


def pillar_dir(variant):
    return HERE / "pillar" / variant


def lab_pillar(variant):
    """Merge the plain-YAML pillar files of lab/vm/pillar/<variant>/top.sls for '*'."""
    return labctl.lab_pillar(pillar_dir(variant), GEN_PILLAR)


class Topo:
    """Hosts, addresses, networks and DRBD disks of one variant's lab pillar."""

    def __init__(self, variant):
        self.variant = variant
        p = lab_pillar(variant)
        self.pillar = p
        c = p["cluster"]
        self.networks = {n: ipaddress.ip_network(cidr) for n, cidr in c["networks"].items()}
        self.netnames = sorted(self.networks, key=lambda n: (n != "san", n))  # san = eth0
        self.frontends = sorted(c.get("frontends") or {})
        self.hypervisors = sorted(c.get("hypervisors") or {})
        self.storage_servers = sorted(c.get("storage_servers") or {})
        self.addrs = {}
        for role in ("frontends", "hypervisors", "storage_servers"):
            for name, a in (c.get(role) or {}).items():
                self.addrs[name] = dict(a)
        self.hosts = self.frontends + self.storage_servers + self.hypervisors
        self.vips = dict(c.get("vips") or {})
        self.mgmt_net = "san" if "san" in self.networks else self.netnames[0]
        # DRBD backing disks on the front-ends, in minor order: vdb, vdc, ...
        res = (p.get("drbd") or {}).get("resources") or {}
        self.drbd = sorted(res.items(), key=lambda kv: kv[1].get("minor", 0)) \
            if variant == "drbd_aoe_lvm" else []

    def idx(self, host):
        return self.hosts.index(host) + 1

    def gw(self, net):
        return str(next(self.networks[net].hosts()))

    def ip(self, host):
        return self.addrs[host][self.mgmt_net]

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


# ---------------------------------------------------------------- image, keys, secrets
def build_image():
    env = dict(os.environ, LAB_DIR=str(VMLAB.parent), VENV=str(VENV))
    p = subprocess.run([str(HERE / "build-image.sh")], env=env)
    if p.returncode:
        raise SystemExit("lab-vm: image build failed (see .lab/vm/log/)")


def ensure_key():
    labctl.ensure_key(KEY, "onelab-vm")


def gen_secrets():
    """.lab/vm/gen/pillar/lab_secrets.sls via the container tier's generator (own dir)."""
    labctl.LAB = VMLAB
    labctl.GEN_PILLAR = GEN_PILLAR
    labctl.gen_secrets()


# ---------------------------------------------------------------- VMs
def hdir(host):
    return HOSTS_DIR / host


def qemu_pid(host):
    return recorded_pid(hdir(host) / "qemu.pid")


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
    lines = []
    for host in topo.hosts:
        pub = hdir(host) / "hostkeys" / "ssh_host_ed25519_key.pub"
        if pub.exists():
            kt, kb = pub.read_text().split()[:2]
            names = ",".join([host] + [topo.addrs[host][n] for n in topo.netnames if n in topo.addrs[host]])
            lines.append(f"{names} {kt} {kb}")
    KNOWN_HOSTS.write_text("\n".join(lines) + "\n")


def start_vm(topo, host):
    h = hdir(host)
    h.mkdir(parents=True, exist_ok=True)
    root = h / "root.qcow2"
    if not root.exists():
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", IMAGE / "base.raw", "-F", "raw", root])
    make_seed(topo, host)
    drives = [f"file={root},if=virtio,format=qcow2,cache=unsafe,discard=unmap"]
    if host in topo.frontends:
        for name, _res in topo.drbd:
            disk = h / f"drbd-{name}.raw"
            if not disk.exists():
                run(["truncate", "-s", f"{DRBD_DISK_MB}M", disk])
            drives.append(f"file={disk},if=virtio,format=raw,cache=writeback")
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
    (h / "qemu.argv").write_text(" ".join(map(str, argv)) + "\n")
    run(ns(*argv))
    pid = int((h / "qemu.pidfile").read_text().split()[0])
    record_pid(h / "qemu.pid", pid)
    return pid


def ssh_argv(topo, host, *cmd, timeout=5):
    """labctl's ssh, with the VM lab's key and known_hosts, inside the lab's netns."""
    return ns(*labctl.ssh_argv(topo, host, *cmd, timeout=timeout, key=KEY, known_hosts=KNOWN_HOSTS))


def ssh(topo, host, cmd, timeout=120, check=False):
    """Run a shell command on a VM; returns CompletedProcess (text)."""
    return labctl.run_ssh(ssh_argv(topo, host, cmd), host, cmd, timeout, check)


def wait_ssh(topo, names, t0, timeout=300):
    """Seconds from t0 until ssh answers, per host."""
    out, pending = {}, list(names)
    deadline = now() + timeout
    tick = labctl.Ticker("lab-vm: booting", out=print)
    while pending and now() < deadline:
        tick.tick(f"waiting for ssh on {', '.join(pending)} (TCG boots take 1-3 min here)")
        for host in list(pending):
            if not qemu_pid(host):
                raise SystemExit(f"lab-vm: {host} qemu exited, see {hdir(host) / 'console.log'}")
            if ssh(topo, host, "true", timeout=15).returncode == 0:
                out[host] = round(now() - t0, 1)
                pending.remove(host)
        time.sleep(1)
    if pending:
        raise SystemExit(f"lab-vm: {pending} no ssh after {timeout}s (see {HOSTS_DIR}/<host>/console.log)")
    return out


def stop_vm(host, purge=False):
    pid = qemu_pid(host)
    if pid:
        labctl.stop_pid(pid, host, sig=signal.SIGTERM, grace=15)
    (hdir(host) / "qemu.pid").unlink(missing_ok=True)
    if purge:
        shutil.rmtree(hdir(host), ignore_errors=True)


def crash_vm(host):
    """SIGKILL the VM's qemu: a power cut (the guest gets no chance to do anything)."""
    pid = qemu_pid(host)
    if not pid:
        raise SystemExit(f"lab-vm: {host} is not running")
    start = proc_start(pid)
    os.kill(pid, signal.SIGKILL)
    t = now()
    while now() - t < 30 and pid_alive(pid, start):
        time.sleep(0.05)
    (hdir(host) / "qemu.pid").unlink(missing_ok=True)


def vm_has_state(host):
    """True if the VM's disk kept an earlier run's state (lab-down without PURGE)."""
    return (hdir(host) / "root.qcow2").exists()


def vms_up(topo, undo=None):
    """Boot the VMs that do not run; returns (started, kept): kept = started VMs whose disk
    kept an earlier run's state."""
    t0 = now()
    started, kept = [], []
    for host in topo.hosts:
        if qemu_pid(host):
            continue
        if vm_has_state(host):
            kept.append(host)
        if undo:
            undo.add(f"VM {host}", lambda h=host: stop_vm(h))
        start_vm(topo, host)
        started.append(host)
    if kept:
        log(f"{', '.join(kept)}: booting with the disks of the last run (`make lab-down` keeps "
            "them; `make lab-down PURGE=1` for VMs from scratch): the highstate is not a first run")
    write_known_hosts(topo)
    if started:
        log(f"booting {', '.join(started)} (qemu -accel tcg)")
        times = wait_ssh(topo, started, t0)
        log(f"ssh up: {times}")
        save_timing(["boot_s"], times)
    reused = [h for h in topo.hosts if h not in started]
    if reused:
        wait_ssh(topo, reused, now(), timeout=60)
        log(f"reusing running VMs {', '.join(reused)} (already highstated: not a first run)")
    return started, kept


# ---------------------------------------------------------------- salt-ssh
def fileroot():
    """Symlink farm onto the repo's formula dirs (labctl.fileroot: never the repo root)."""
    labctl.fileroot(FILEROOT)


def salt_configs(topo):
    """.lab/vm/salt-ssh/{master,roster} from the container tier's templates."""
    fileroot()
    GEN_SALT.mkdir(parents=True, exist_ok=True)
    SSH_CONF.mkdir(parents=True, exist_ok=True)
    tpl = string.Template((LABSRC / "templates" / "salt-ssh.master").read_text())
    (SSH_CONF / "master").write_text(tpl.substitute(
        root=SSH_CONF, repo=REPO, lab=VMLAB, fileroot=FILEROOT, labsalt=LABSRC / "salt",
        gensalt=GEN_SALT, pillar=pillar_dir(topo.variant), genpillar=GEN_PILLAR))
    roster = []
    for host in topo.hosts:
        roster.append(string.Template((LABSRC / "templates" / "roster.host").read_text())
                      .substitute(name=host, ip=topo.ip(host), key=KEY, known_hosts=KNOWN_HOSTS))
    (SSH_CONF / "roster").write_text("# generated by lab/vm/vmctl.py from lab/templates/roster.host\n"
                                     + "".join(roster))


def highstate(topo, sls=None, test=False, hosts=None, timeout=5400, extra=(), label=None):
    """One highstate (or state.sls) through salt-ssh run inside the lab netns, a line per VM
    as it returns and a heartbeat while they run. Returns (seconds, summary, raw)."""
    hosts = hosts or topo.hosts
    fun = ["state.sls", sls] if sls else ["state.apply"]
    if test:
        fun.append("test=True")
    argv = ns(VENV / "bin" / "salt-ssh", "-c", SSH_CONF, f"--roster-file={SSH_CONF / 'roster'}",
              "-L", ",".join(hosts), *fun, *extra, "--out=json", "--no-color", "-l", "quiet")
    label = f"lab-vm: {label or sls or 'highstate'}"
    log(f"{label.split(': ', 1)[1]}: started on {', '.join(hosts)} (TCG: minutes)")
    t = now()
    rc, raw, stderr = labctl.stream_salt(argv, hosts, label, timeout, heartbeat=15, out=print)
    secs = round(now() - t, 1)
    summ = summarize(raw, hosts)
    if not raw:
        for s in summ.values():
            s["error"] = f"rc={rc} stderr: {stderr[-3000:]}"
    return secs, summ, raw


def apply(topo, label="highstate", hosts=None):
    secs, summ, raw = highstate(topo, hosts=hosts, label=label)
    print_summary(f"{label} (salt-ssh, VMs)", secs, summ)
    save_timing(["highstate", topo.variant, label], {
        "seconds": secs, "ok": ok(summ),
        "changed": {h: len(s["changed"]) for h, s in summ.items()},
        "per_host_state_s": {h: round(s["duration_s"], 1) for h, s in summ.items()}})
    return secs, summ, raw


# ---------------------------------------------------------------- commands
def need_root():
    if os.geteuid() != 0:
        raise SystemExit("lab-vm: must run as root (netns, taps)")


def running_hosts():
    return sorted(p.name for p in HOSTS_DIR.iterdir() if qemu_pid(p.name)) if HOSTS_DIR.is_dir() else []


UP_HINTS = {
    "checking the machine": "`make lab-check VARIANT=<variant>` lists what is missing; `make lab VARIANT=<variant>` installs it",
    "the VM image": "read .lab/vm/log/; `make lab VARIANT=<variant>` builds the image again",
    "the lab network": "`make lab-status VARIANT=<variant>` shows what holds the netns",
    "booting the VMs": "read .lab/vm/hosts/<host>/console.log; `make lab VARIANT=<variant>` boots them again",
}


def cmd_up(a):
    """Image, netns, VMs, then one highstate. A failure before the highstate undoes what this
    run made; a failing highstate leaves the VMs up to look at."""
    undo = labctl.Undo(out=log)
    step = "checking the machine"
    variant = a.variant or "<variant>"
    try:
        need_root()
        labctl.require_tools("vm", prefix="lab-vm")
        VMLAB.mkdir(parents=True, exist_ok=True)
        running = running_hosts()
        old = VARIANT_FILE.read_text().strip() if VARIANT_FILE.exists() else None
        variant = current_variant(a.variant)
        if running and old and old != variant:
            raise SystemExit(f"lab-vm: a {old} lab runs ({', '.join(running)}): make lab-down VARIANT={old} first")
        if old and old != variant and HOSTS_DIR.is_dir():
            log(f"variant changed {old} -> {variant}: purging the old VMs' disks")
            for h in list(HOSTS_DIR.iterdir()):
                shutil.rmtree(h, ignore_errors=True)
        VARIANT_FILE.write_text(variant + "\n")
        gen_secrets()
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
        hint = UP_HINTS[step].replace("<variant>", variant)
        raise labctl.failed_run("lab-vm", step, e, undo, hint, VMLAB / "last-failure.log") from None
    if a.no_apply:
        return 0
    first = set(started) == set(topo.hosts) and not kept
    _secs, summ, _raw = apply(topo, label="first highstate" if first else "highstate")
    if ok(summ):
        return 0
    log("the highstate failed (above); the VMs stay up to look at: "
        f"`make lab-ssh VARIANT={variant} H=<host>`, `make lab-down VARIANT={variant}` to stop")
    return 1


def cmd_apply(a):
    topo = Topo(current_variant())
    salt_configs(topo)
    hosts = a.hosts.split(",") if a.hosts else None
    secs, summ, raw = highstate(topo, sls=a.sls, test=a.test, hosts=hosts)
    print_summary(f"{a.sls or 'highstate'} (salt-ssh, VMs)", secs, summ)
    for h, s in summ.items():
        if s["changed"]:
            log(f"  {h} changed: {', '.join(s['changed'])}")
    if a.json:
        print(json.dumps(raw, indent=1))
    return 0 if ok(summ) else 1


def cmd_down(a):
    need_root()
    names = sorted(p.name for p in HOSTS_DIR.iterdir()) if HOSTS_DIR.is_dir() else []
    for host in names:
        pid = qemu_pid(host)
        if pid:
            os.kill(pid, signal.SIGTERM)
    for host in names:
        stop_vm(host, purge=a.purge)
        log(f"{host} stopped")
    net_down()
    if a.purge:
        VARIANT_FILE.unlink(missing_ok=True)
        KNOWN_HOSTS.unlink(missing_ok=True)
        shutil.rmtree(SSH_CONF, ignore_errors=True)
    log("down" + (" (VM disks purged; image kept)" if a.purge else ""))
    return 0


def cmd_status(a):
    if not VARIANT_FILE.exists():
        log("no VM lab (make lab VARIANT=drbd_aoe_lvm|nfs)")
        return 0
    topo = Topo(current_variant())
    log(f"variant {topo.variant}, netns {NS}: "
        f"{'present' if NS in run(['ip', 'netns', 'list']).stdout.split() else 'absent'}")
    for host in topo.hosts:
        pid = qemu_pid(host)
        log(f"{host:10} {topo.ip(host):15} " + (f"qemu pid {pid}" if pid else "down"))
    if TIMINGS.exists():
        log(f"timings {TIMINGS}: {json.dumps(json.loads(TIMINGS.read_text()))}")
    return 0


def cmd_ssh(a):
    topo = Topo(current_variant())
    os.execvp("ip", ssh_argv(topo, a.host, *labctl.ssh_command(a, topo, prefix="lab-vm")))


def cmd_crash(a):
    need_root()
    crash_vm(a.host)
    log(f"{a.host}: qemu SIGKILLed")
    return 0


def cmd_boot(a):
    need_root()
    topo = Topo(current_variant())
    if qemu_pid(a.host):
        log(f"{a.host} already running")
        return 0
    t0 = now()
    start_vm(topo, a.host)
    log(f"{a.host} ssh up in {wait_ssh(topo, [a.host], t0)[a.host]}s")
    return 0


def cmd_link(a):
    need_root()
    set_link(Topo(current_variant()), a.host, a.net, a.state)
    log(f"{a.host} {a.net}: {a.state}")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="vmctl.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--variant", choices=VARIANTS, default=None)
    up.add_argument("--no-apply", action="store_true")
    ap_ = sub.add_parser("apply")
    ap_.add_argument("--sls")
    ap_.add_argument("--test", action="store_true")
    ap_.add_argument("--json", action="store_true")
    ap_.add_argument("--hosts")
    dn = sub.add_parser("down")
    dn.add_argument("--purge", action="store_true")
    sub.add_parser("status")
    s = sub.add_parser("ssh", help="root shell on HOST, or run `-- CMD...` there")
    s.add_argument("host")
    s.add_argument("command", nargs=argparse.REMAINDER)
    for n in ("crash", "boot"):
        sub.add_parser(n).add_argument("host")
    lk = sub.add_parser("link")
    lk.add_argument("host")
    lk.add_argument("net")
    lk.add_argument("state", choices=["up", "down"])
    a = ap.parse_args(argv)
    return {"up": cmd_up, "apply": cmd_apply, "down": cmd_down, "status": cmd_status,
            "ssh": cmd_ssh, "crash": cmd_crash, "boot": cmd_boot, "link": cmd_link}[a.cmd](a)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, labctl._interrupted)  # same as Ctrl-C: the run undoes what it made
    signal.signal(signal.SIGINT, labctl._interrupted)
    sys.exit(main())
