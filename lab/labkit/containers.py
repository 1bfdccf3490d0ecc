"""containers: the container tier of the lab (systemd-nspawn hosts), `make lab`.

Everything lives under .lab/ (git-ignored). Hosts are systemd-nspawn containers booted with
systemd as PID 1 on an overlayfs over the cached base rootfs (lab/image/build.sh container),
each launched from its own cgroup (/sys/fs/cgroup/{systemd,unified}/onelab/<host>) and
recorded by PID. The topology (host names, addresses, networks) comes from the lab pillar
(lab/pillar/*.sls, plain YAML): cluster:frontends/hypervisors/networks. The lab bridge
carries the gateway (.1) of every cluster network; apt reaches only the Debian mirror's
address through the lab's own nft table. Salt: labkit.saltrun (salt-ssh, or salt-master
with METHOD=master).

Nothing here is started by name or stopped by name: every process is tracked by PID.
A failing `up` undoes what that run made (bridge, nft table, overlay mounts, hosts and
salt-master it started, by PID) and ends with one line: what failed and what to do.
The operations at the end (up, reapply, down, status, ssh_exec, crash, boot) are what the
CLI (labkit.cli), test/lab/ and bench/lab_highstate.py call.
"""
import functools
import ipaddress
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time

from labkit import core, hosts, saltrun
from labkit.core import LAB, LABSRC

PREFIX = "lab"
log = core.logger(PREFIX)
run = functools.partial(core.run, prefix=PREFIX)
DIRS = core.Dirs(LAB)
HOSTS_DIR, KEY, KNOWN_HOSTS = DIRS.hosts, DIRS.key, DIRS.known_hosts
SSH_CONF, MASTER_DIR, GEN_SALT, GEN_PILLAR, TIMINGS = (
    DIRS.ssh_conf, DIRS.master, DIRS.gen_salt, DIRS.gen_pillar, DIRS.timings)
save_timing = functools.partial(core.save_timing, TIMINGS)
PILLAR_DIR = LABSRC / "pillar"
# The container tier's variants (the VM tier's way, labkit.vms): one pillar directory each;
# the default (moosefs, pacemaker, 2 front-ends) is lab/pillar itself, raft (OpenNebula's own
# HA, 3 front-ends, ssh datastores) lab/pillar/raft/. `.lab/variant` names the lab on disk.
VARIANTS = {"moosefs": PILLAR_DIR, "raft": PILLAR_DIR / "raft"}
VARIANT_FILE = LAB / "variant"
BR = os.environ.get("LAB_BRIDGE", "onelab0")
NFT_TABLE = "onelab"
CGROUP = "onelab"
MIRROR = os.environ.get("MIRROR", "http://deb.debian.org/debian")
MIRROR_HOST = MIRROR.split("/")[2]
GUEST_CACHE = pathlib.Path(os.environ.get("GUEST_CACHE", "/var/cache/opennebula-ha-formula/guest"))
# inside oned's SAFE_DIRS (/var/tmp): the fs datastore driver refuses to copy from anywhere else
GUEST_MNT = "/var/tmp/lab-guest"  # the test guest's files inside the hosts (read-only)
NSPAWN_EXTRA = ["--bind=/dev/fuse", "--rlimit=RLIMIT_MEMLOCK=infinity", "--resolv-conf=off",
                "--timezone=off", "--link-journal=no"]


def need_root():
    core.need_root(PREFIX, "nspawn, bridge, nft, overlayfs")


def current_variant(requested=None):
    """The variant asked for, else the one on disk (.lab/variant), else VARIANT, else moosefs."""
    return core.pick_variant(requested, VARIANT_FILE, VARIANTS, "moosefs", PREFIX, "container")


def pillar_dir(variant):
    return VARIANTS[variant]


class Topo(core.Topo):
    """The container lab's hosts (front-ends, hypervisors) from the variant's lab pillar."""

    def __init__(self, variant=None):
        self.variant = current_variant(variant)
        super().__init__(core.lab_pillar(pillar_dir(self.variant), GEN_PILLAR))

    @property
    def master_ip(self):
        return self.gw(self.mgmt_net)


# ---------------------------------------------------------------- processes by PID
def host_pid(name):
    """PID of the host's systemd-nspawn if it is running."""
    return core.recorded_pid(HOSTS_DIR / name / "nspawn.pid")


def container_init(name):
    """PID (host namespace) of the container's systemd: nspawn's child."""
    pid = host_pid(name)
    if not pid:
        return None
    try:
        kids = pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return None
    return int(kids[0]) if kids else None


# ---------------------------------------------------------------- network
def mirror_ips():
    ips = sorted({ai[4][0] for ai in socket.getaddrinfo(MIRROR_HOST, 80, socket.AF_INET)})
    if not ips:
        raise SystemExit(f"{PREFIX}: cannot resolve {MIRROR_HOST}")
    return ips


def net_up(topo):
    netd = LAB / "net"
    netd.mkdir(parents=True, exist_ok=True)
    # refuse a range the host already uses elsewhere
    used = run(["ip", "-4", "-o", "addr"]).stdout
    for line in used.splitlines():
        dev, cidr = line.split()[1], line.split()[3]
        if dev == BR:
            continue
        iface = ipaddress.ip_interface(cidr)
        for n, net in topo.networks.items():
            if iface.network.overlaps(net):
                raise SystemExit(f"{PREFIX}: network {n} {net} overlaps {cidr} on {dev}: change lab pillar")
    if run(["ip", "link", "show", BR], check=False).returncode != 0:
        run(["ip", "link", "add", BR, "type", "bridge"])
    have = run(["ip", "-4", "-o", "addr", "show", "dev", BR]).stdout
    for n in topo.networks:
        a = f"{topo.gw(n)}/{topo.prefix(n)}"
        if f" {a} " not in have:
            run(["ip", "addr", "add", a, "dev", BR])
    run(["ip", "link", "set", BR, "up"])
    ips = mirror_ips()
    (netd / "mirror").write_text(" ".join(ips))
    nets = ", ".join(str(n) for n in topo.networks.values())
    mir = ", ".join(ips)
    # the lab's own table: masquerade + forward ONLY lab -> Debian mirror http(s)
    ruleset = f"""table ip {NFT_TABLE} {{
  chain lab_post {{
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr {{ {nets} }} ip daddr {{ {mir} }} tcp dport {{ 80, 443 }} oifname != "{BR}" masquerade
  }}
  chain lab_forward {{
    type filter hook forward priority filter; policy accept;
    # host to host on the bridge (seen here when br_netfilter is loaded)
    iifname "{BR}" oifname "{BR}" accept
    iifname "{BR}" ip daddr {{ {mir} }} tcp dport {{ 80, 443 }} accept
    oifname "{BR}" ct state established,related accept
    iifname "{BR}" drop
    oifname "{BR}" drop
  }}
}}
"""
    run(["nft", "delete", "table", "ip", NFT_TABLE], check=False)
    (netd / "nft.conf").write_text(ruleset)
    run(["nft", "-f", netd / "nft.conf"])
    saved = netd / "ip_forward.saved"
    if not saved.exists():
        saved.write_text(pathlib.Path("/proc/sys/net/ipv4/ip_forward").read_text())
    pathlib.Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n")


def net_down():
    if run(["ip", "link", "show", BR], check=False).returncode == 0:
        run(["ip", "link", "del", BR])
    run(["nft", "delete", "table", "ip", NFT_TABLE], check=False)
    saved = LAB / "net" / "ip_forward.saved"
    if saved.exists():
        pathlib.Path("/proc/sys/net/ipv4/ip_forward").write_text(saved.read_text())
        saved.unlink()


# ---------------------------------------------------------------- base, guest, key
def build_base():
    core.build_image("container", LAB, f"{PREFIX}: base build failed", MIRROR=MIRROR)


def build_guest():
    """The test guest (lab/guest/build.sh: kernel, busybox initrd, data disk), cached in
    GUEST_CACHE; bound read-only into every host at GUEST_MNT, where the lab registers it in
    OpenNebula (labkit.cloud)."""
    p = subprocess.run([str(LABSRC / "guest" / "build.sh")], env=dict(os.environ, GUEST_CACHE=str(GUEST_CACHE)))
    if p.returncode:
        raise SystemExit(f"{PREFIX}: test guest build failed")


def ensure_key():
    core.ensure_key(KEY, "onelab", prefix=PREFIX)


# ---------------------------------------------------------------- hosts
def cg_roots():
    """Where the lab's cgroups go: the name=systemd and unified hierarchies of a hybrid
    setup, or the root of a pure cgroup2 one (Debian 12's default)."""
    hybrid = [pathlib.Path(f"/sys/fs/cgroup/{h}") for h in ("systemd", "unified")]
    if all(h.is_dir() for h in hybrid):
        return hybrid
    return [pathlib.Path("/sys/fs/cgroup")]


def cg_dirs(name):
    return [root / CGROUP / name for root in cg_roots()]


def rm_cgroup(path):
    if path.is_dir():
        for d in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            try:
                d.rmdir()
            except OSError:
                pass
        try:
            path.rmdir()
        except OSError:
            pass


def mk_host(topo, name):
    h = HOSTS_DIR / name
    for d in ("upper", "work", "merged"):
        (h / d).mkdir(parents=True, exist_ok=True)
    m = h / "merged"
    if run(["mountpoint", "-q", m], check=False).returncode != 0:
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={LAB / 'base'},upperdir={h / 'upper'},workdir={h / 'work'}", m])
    (m / "etc/hostname").write_text(name + "\n")
    mid = m / "etc/machine-id"
    if not mid.read_text().strip():
        mid.write_text(os.urandom(16).hex() + "\n")
    mirror = (LAB / "net" / "mirror").read_text().split()[0]
    pin = f"{mirror} {MIRROR_HOST}  # lab: the only outside name (apt)"
    if (h / "upper/etc/hosts").exists():
        # a host booted again (rejoin after a crash): keep what the formula wrote (its
        # host.only lines), only the mirror pin is refreshed
        kept = [ln for ln in (m / "etc/hosts").read_text().splitlines()
                if not ln.endswith("# lab: the only outside name (apt)")]
        hosts = kept + [pin]
    else:
        hosts = ["127.0.0.1 localhost", "::1 localhost ip6-localhost ip6-loopback", pin]
    (m / "etc/hosts").write_text("\n".join(hosts) + "\n")
    addrs = "\n".join(f"Address={topo.addrs[name][n]}/{topo.prefix(n)}"
                      for n in topo.networks if n in topo.addrs[name])
    (m / "etc/systemd/network/10-lab.network").write_text(
        f"[Match]\nName=host0\n\n[Network]\n{addrs}\nGateway={topo.gw(topo.mgmt_net)}\n"
        "LinkLocalAddressing=no\nIPv6AcceptRA=no\n")
    sshd = m / "root/.ssh"
    sshd.mkdir(mode=0o700, parents=True, exist_ok=True)
    (sshd / "authorized_keys").write_text(pathlib.Path(f"{KEY}.pub").read_text())
    os.chmod(sshd / "authorized_keys", 0o600)
    if not (m / "etc/ssh/ssh_host_ed25519_key").exists():
        run(["ssh-keygen", "-q", "-A", "-f", m])
    (m / "etc/salt/minion_id").write_text(name)
    (m / "etc/salt/minion.d/lab.conf").write_text(
        f"# lab: salt-master on the lab bridge\nmaster: {topo.master_ip}\nid: {name}\n"
        "acceptance_wait_time: 2\nacceptance_wait_time_max: 5\nrandom_reauth_delay: 0\n"
        "auth_safemode: false\nlog_level_logfile: warning\n")


def boot_host(name):
    h = HOSTS_DIR / name
    for d in cg_dirs(name):
        rm_cgroup(d)
        d.mkdir(parents=True, exist_ok=True)
    procs = [str(d / "cgroup.procs") for d in cg_dirs(name)]

    def into_cgroup():
        for p in procs:
            with open(p, "w") as f:
                f.write(str(os.getpid()))

    argv = ["systemd-nspawn", f"--directory={h / 'merged'}", f"--machine={name}", "--boot",
            "--register=no", "--keep-unit", f"--network-bridge={BR}", "--console=pipe",
            *NSPAWN_EXTRA]
    if (GUEST_CACHE / "stamp").exists():
        argv.append(f"--bind-ro={GUEST_CACHE}:{GUEST_MNT}")
    if not shutil.which(argv[0]):
        raise core.missing_tool(argv[0], PREFIX)
    with open(h / "console.log", "ab") as out, open(os.devnull, "rb") as devnull:
        p = subprocess.Popen(argv, stdin=devnull, stdout=out, stderr=subprocess.STDOUT,
                             preexec_fn=into_cgroup, start_new_session=True)
    core.record_pid(h / "nspawn.pid", p.pid)
    return p.pid


def ssh_argv(topo, host, *cmd, timeout=5):
    """ssh to root@<host> with the lab key and the private known_hosts."""
    return core.ssh_argv(topo.ip(host), *cmd, key=KEY, known_hosts=KNOWN_HOSTS, timeout=timeout)


def ssh(topo, host, cmd, timeout=120, check=False):
    """Run a shell command on a lab host; returns CompletedProcess (text)."""
    return core.run_ssh(ssh_argv(topo, host, cmd), host, cmd, timeout, check)


def write_known_hosts(topo):
    core.write_known_hosts(KNOWN_HOSTS, topo, topo.networks,
                           lambda name: HOSTS_DIR / name / "merged/etc/ssh/ssh_host_ed25519_key.pub")


def wait_booted(topo, names, t0, timeout=180):
    """Seconds from t0 until systemd is running/degraded and ssh answers, per host."""
    def ready(name):
        init = container_init(name)
        if not init:
            if not host_pid(name):
                raise SystemExit(f"{PREFIX}: {name} nspawn exited, see {HOSTS_DIR / name / 'console.log'}")
            return False
        st = run(["nsenter", "-t", init, "-m", "-u", "-i", "-n", "-p",
                  "systemctl", "is-system-running"], check=False).stdout.strip()
        return st in ("running", "degraded") and ssh(topo, name, "true", timeout=10).returncode == 0

    up, pending = core.wait_hosts(names, ready, timeout, core.Ticker("booting", out=log),
                                  lambda p: f"waiting for {', '.join(p)}", 0.3)
    if pending:
        raise SystemExit(f"{PREFIX}: {pending} not booted after {timeout}s "
                         f"(see {HOSTS_DIR}/<host>/console.log)")
    return {h: round(t - t0, 1) for h, t in up.items()}


def host_has_state(name):
    """True if the host's overlay kept state from an earlier run (lab-down without PURGE)."""
    upper = HOSTS_DIR / name / "upper"
    return upper.is_dir() and any(upper.iterdir())


def start_host(topo, name):
    mk_host(topo, name)
    boot_host(name)


def crash_host(name):
    """SIGKILL the container's systemd (PID 1): the whole PID namespace dies, like a power cut."""
    init = container_init(name)
    if not init:
        raise SystemExit(f"{PREFIX}: {name} is not running")
    pid = host_pid(name)
    start = core.proc_start(pid)
    os.kill(init, signal.SIGKILL)
    core.wait_gone(pid, start, 30)
    # nspawn is our child only in the process that booted it: reap if we can
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop_host(name, purge=False, signalled=False):
    h = HOSTS_DIR / name
    pid = host_pid(name)
    if pid:
        # one SIGTERM to nspawn = clean halt of the container's systemd (a second one would
        # make nspawn terminate it immediately)
        core.stop_pid(pid, name, sig=None if signalled else signal.SIGTERM, grace=30, out=log)
    m = h / "merged"
    if run(["mountpoint", "-q", m], check=False).returncode == 0:
        if run(["umount", m], check=False).returncode:
            time.sleep(1)
            run(["umount", m])
    for d in cg_dirs(name):
        rm_cgroup(d)
    shutil.rmtree(f"/run/systemd/nspawn/propagate/{name}", ignore_errors=True)
    # a SIGKILLed nspawn leaves its host-side veth (vb-<machine>) on the bridge: the next
    # boot of this host would fail with "Failed to add new veth interfaces ... File exists"
    veth = f"vb-{name}"[:15]
    if run(["ip", "link", "show", veth], check=False).returncode == 0:
        run(["ip", "link", "del", veth], check=False)
    (h / "nspawn.pid").unlink(missing_ok=True)
    if purge:
        shutil.rmtree(h, ignore_errors=True)


HOSTS = hosts.HostSet("host", log, TIMINGS, topo=lambda: Topo(), need_root=need_root, steps=dict(
    pid=host_pid, has_state=host_has_state, start=start_host, stop=stop_host, wait=wait_booted,
    known_hosts=write_known_hosts, crash=crash_host, ssh_argv=ssh_argv))


def hosts_up(topo, undo=None):
    """Boot the hosts that do not run; returns (started, kept)."""
    return HOSTS.up(topo, undo)


# ---------------------------------------------------------------- salt
MASTER = saltrun.Master(DIRS, rootfs=lambda name: HOSTS_DIR / name / "merged", ssh=ssh, log=log, prefix=PREFIX)


def salt_configs(topo):
    saltrun.salt_ssh_configs(DIRS, topo, pillar_dir(topo.variant))
    saltrun.master_config(DIRS, pillar_dir(topo.variant), topo.master_ip)


def highstate(topo, method, sls=None, test=False, timeout=3600, label=None, pillar=None):
    """One highstate (or state.sls) on every lab host, a line per host as it returns;
    `pillar` (a dict) is passed as pillar= on the command line. Returns (seconds, summary, raw)."""
    fun = saltrun.state_fun(sls, test, pillar)
    if method == "ssh":
        argv = saltrun.salt_ssh_argv(DIRS, ["*"], fun)
    elif method == "master":
        if not sls:
            fun[0] = "state.highstate"
        argv = [saltrun.salt_bin("salt"), "-c", MASTER_DIR / "conf", "-L", ",".join(topo.hosts),
                "--timeout", "60", *fun, "--out=json", "--no-color", "-l", "quiet"]
    else:
        raise SystemExit(f"{PREFIX}: unknown method {method}")
    label = label or f"{sls or 'highstate'} ({method})"
    return saltrun.run_states(argv, topo.hosts, label, timeout, out=log)


print_summary = functools.partial(saltrun.print_summary, out=log)
ok = saltrun.ok


def apply(topo, method, label="highstate"):
    secs, summ, _ = highstate(topo, method, label=f"{label} ({method})")
    print_summary(f"{label} ({method})", secs, summ)
    save_timing(["highstate", method, label], saltrun.timing(secs, summ))
    return ok(summ)


# ---------------------------------------------------------------- operations
UP_HINTS = {
    "checking the machine": "`make lab-check` lists what is missing; `make lab` installs it",
    "the base rootfs": "read the .lab/base-*.log named above; `make lab` builds the base again",
    "the test guest": "read the lines above; `make lab` builds the guest again",
    "the lab network": "another bridge or table may hold the lab ranges: `make lab-status`",
    "booting the hosts": "read .lab/hosts/<host>/console.log; `make lab` boots them again",
    "the salt-master": "read .lab/master/log/; `make lab METHOD=master` starts it again",
}


def switch_variant(variant):
    """Make `variant` the lab on disk: refused while hosts of another variant run; the hosts'
    state of another variant is purged (same host names, other cloud)."""
    old = VARIANT_FILE.read_text().strip() if VARIANT_FILE.exists() else None
    variant = current_variant(variant)
    if old and old != variant:
        running = [p.name for p in HOSTS_DIR.iterdir() if host_pid(p.name)] if HOSTS_DIR.is_dir() else []
        if running:
            raise SystemExit(f"{PREFIX}: a {old} lab runs ({', '.join(running)}): make lab-down first")
        if HOSTS_DIR.is_dir():
            log(f"variant changed {old} -> {variant}: purging the old hosts' state")
            for h in list(HOSTS_DIR.iterdir()):
                stop_host(h.name, purge=True)
    VARIANT_FILE.write_text(variant + "\n")
    return variant


def up(method="ssh", no_apply=False, variant=None):
    """Base, network, hosts (and salt-master), then one highstate. A failure before the
    highstate undoes what this run made; a failing highstate leaves the hosts up to look at."""
    undo = core.Undo(out=log)
    step = "checking the machine"
    try:
        need_root()
        core.require_tools("container", prefix=PREFIX)
        LAB.mkdir(parents=True, exist_ok=True)
        variant = switch_variant(variant or os.environ.get("VARIANT"))
        core.gen_secrets(GEN_PILLAR, prefix=PREFIX)
        topo = Topo(variant)
        log(f"variant {variant}: pillar {pillar_dir(variant).relative_to(LABSRC.parent)}, hosts {', '.join(topo.hosts)}")
        step = "the base rootfs"
        if not any(host_pid(n) for n in topo.hosts):
            build_base()
        else:
            log("hosts running: base rebuild skipped (make lab-down first to rebuild)")
        step = "the test guest"
        build_guest()
        ensure_key()
        step = "the lab network"
        if run(["ip", "link", "show", BR], check=False).returncode != 0:
            undo.add(f"bridge {BR} + nft table {NFT_TABLE}", net_down)
        net_up(topo)
        salt_configs(topo)
        step = "the salt-master"
        if method == "master":
            if not MASTER.pid():
                undo.add("salt-master", MASTER.down)
            MASTER.start(topo)  # listening before the minions boot: no auth back-off
        step = "booting the hosts"
        started, kept = hosts_up(topo, undo)
        if method == "master":
            step = "the salt-master"
            MASTER.up(topo)
    except (SystemExit, Exception, KeyboardInterrupt) as e:
        raise core.failed_run(PREFIX, step, e, undo, UP_HINTS[step], DIRS.failure_log) from None
    if no_apply:
        return 0
    first = set(started) == set(topo.hosts) and not kept
    if apply(topo, method, label="first highstate" if first else "highstate"):
        return 0
    log("the highstate failed (above); the hosts stay up to look at: `make lab-ssh H=<host>`, "
        "`make lab-apply` to run it again, `make lab-down` to stop")
    return 1


def reapply(method="ssh", sls=None, test=False, show_json=False):
    """One more highstate (or state.sls) on the running lab."""
    topo = Topo()
    salt_configs(topo)
    if method == "master":
        MASTER.up(topo)
    secs, summ, raw = highstate(topo, method, sls=sls, test=test)
    print_summary(f"{sls or 'highstate'} ({method})", secs, summ)
    if show_json:
        print(json.dumps(raw, indent=1))
    return 0 if ok(summ) else 1


def down(purge=False):
    need_root()
    MASTER.down()
    # SIGTERM every nspawn first (clean halt of each container's systemd, in parallel)
    HOSTS.stop_all(sorted(p.name for p in HOSTS_DIR.iterdir()) if HOSTS_DIR.is_dir() else [], purge)
    for root in cg_roots():
        try:
            (root / CGROUP).rmdir()
        except OSError:
            pass
    net_down()
    if purge:
        shutil.rmtree(MASTER_DIR, ignore_errors=True)
        shutil.rmtree(SSH_CONF, ignore_errors=True)
        KNOWN_HOSTS.unlink(missing_ok=True)
    log("down" + (" (hosts purged; base kept)" if purge else ""))
    return 0


def status():
    topo = Topo()
    log(f"variant {topo.variant}")
    for name in topo.hosts:
        pid = host_pid(name)
        gone = "down" + (" (state of the last run kept: `make lab-down PURGE=1` drops it)"
                         if host_has_state(name) else "")
        log(f"{name:10} {topo.ip(name):15} " + (f"nspawn pid {pid}, init {container_init(name)}"
                                                 if pid else gone))
    br = run(["ip", "-br", "-4", "addr", "show", BR], check=False)
    log(f"bridge {BR}: " + (br.stdout.strip() or "absent"))
    nft = run(["nft", "list", "table", "ip", NFT_TABLE], check=False).returncode == 0
    log(f"nft table ip {NFT_TABLE}: {'present' if nft else 'absent'}")
    log(f"salt-master: pid {MASTER.pid() or '-'}")
    core.show_timings(TIMINGS, log)
    return 0


ssh_exec, crash, boot = HOSTS.ssh_exec, HOSTS.crash_one, HOSTS.boot_one
