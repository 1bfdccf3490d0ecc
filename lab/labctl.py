#!/usr/bin/env python3
"""labctl: the container tier of the opennebula-ha-formula lab.

    labctl.py up [--method ssh|master] [--no-apply]   base (cached) + net + hosts + highstate
    labctl.py apply [--method ssh|master] [--sls X]   one highstate (or state.sls X), summary
    labctl.py down [--purge]                          stop hosts by PID, remove bridge/nft/mounts
    labctl.py status                                  what runs (PIDs), last timings
    labctl.py ssh HOST [--] [CMD...]                  root shell / command on a lab host
    labctl.py crash HOST | boot HOST                  SIGKILL a host's systemd / boot it again

Everything lives under .lab/ (git-ignored). Hosts are systemd-nspawn containers booted with
systemd as PID 1 on an overlayfs over the cached base rootfs, each launched from its own
cgroup (/sys/fs/cgroup/{systemd,unified}/onelab/<host>) and recorded by PID. The topology
(host names, addresses, networks) comes from the lab pillar (lab/pillar/*.sls, plain YAML):
cluster:frontends/hypervisors/networks. The lab bridge carries the gateway (.1) of every
cluster network; apt reaches only the Debian mirror's address through the lab's own nft
table. Nothing is written to /etc/salt: salt-ssh and salt-master get private config dirs.

Nothing here is started by name or stopped by name: every process is tracked by PID.
A failing `up` undoes what that run made (bridge, nft table, overlay mounts, hosts and
salt-master it started, by PID) and ends with one line: what failed and what to do.
"""
import argparse
import ipaddress
import json
import os
import queue
import pathlib
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import traceback

REPO = pathlib.Path(__file__).resolve().parent.parent
LABSRC = REPO / "lab"
LAB = pathlib.Path(os.environ.get("LAB_DIR", REPO / ".lab"))
_venv = pathlib.Path(os.environ.get("VENV", ".venv"))
VENV = _venv if _venv.is_absolute() else REPO / _venv
BR = os.environ.get("LAB_BRIDGE", "onelab0")
NFT_TABLE = "onelab"
CGROUP = "onelab"
MIRROR = os.environ.get("MIRROR", "http://deb.debian.org/debian")
MIRROR_HOST = MIRROR.split("/")[2]
HOSTS_DIR = LAB / "hosts"
KEY = LAB / "ssh" / "id_ed25519"
KNOWN_HOSTS = LAB / "ssh" / "known_hosts"
SSH_CONF = LAB / "salt-ssh"
MASTER_DIR = LAB / "master"
FILEROOT = LAB / "fileroot"  # symlink farm onto the repo's formula dirs (see fileroot())
GEN_SALT = LAB / "gen" / "salt"  # generated states (bench floor)
GEN_PILLAR = LAB / "gen" / "pillar"  # generated lab secrets (lab_secrets.sls)
TIMINGS = LAB / "timings.json"
GUEST_CACHE = pathlib.Path(os.environ.get("GUEST_CACHE", "/var/cache/opennebula-ha-formula/guest"))
# inside oned's SAFE_DIRS (/var/tmp): the fs datastore driver refuses to copy from anywhere else
GUEST_MNT = "/var/tmp/lab-guest"  # the test guest's files inside the hosts (read-only)
NSPAWN_EXTRA = ["--bind=/dev/fuse", "--rlimit=RLIMIT_MEMLOCK=infinity", "--resolv-conf=off",
                "--timezone=off", "--link-journal=no"]


def log(*a):
    print("lab:", *a, flush=True)


def now():
    return time.monotonic()


def _prereqs():
    """lab/prereqs.py (stdlib only), loaded from its file: the table of host tools."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("onehalab_prereqs", LABSRC / "prereqs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


prereqs = _prereqs()


def missing_tool(tool, prefix="lab"):
    """SystemExit for a tool that is not installed: which package has it, what to run."""
    pkgs = {c: p for rows in prereqs.TIERS.values() for c, p, _w in rows}
    hint = f" (Debian package {pkgs[tool]})" if tool in pkgs else ""
    return SystemExit(f"{prefix}: {tool} is not installed{hint}: `make lab-check` lists what "
                      "is missing, `make lab` installs it")


def require_tools(tier, prefix="lab"):
    """Refuse to start while the tier's host tools are missing (labctl run without make)."""
    miss = prereqs.missing_tools(tier)
    if miss:
        raise SystemExit(f"{prefix}: missing on this machine: "
                         + ", ".join(f"{c} ({p})" for c, p, _w in miss)
                         + ": `make lab-check` says why, `make lab` installs them")


def run(argv, check=True, prefix="lab", **kw):
    kw.setdefault("text", True)
    kw.setdefault("capture_output", True)
    try:
        p = subprocess.run([str(a) for a in argv], check=False, **kw)
    except FileNotFoundError:
        raise missing_tool(str(argv[0]), prefix) from None
    if check and p.returncode != 0:
        raise SystemExit(f"{prefix}: {' '.join(map(str, argv))} failed rc={p.returncode}\n"
                         f"{(p.stdout or '')[-2000:]}{(p.stderr or '')[-2000:]}")
    return p


class Ticker:
    """A progress line every `every` seconds while a long step runs (plain lines: readable
    on a pipe, in CI and on a TTY alike)."""

    def __init__(self, label, every=10.0, out=None):
        self.label, self.every, self.out = label, every, out or log
        self.t0 = self.last = now()

    def elapsed(self):
        return now() - self.t0

    def tick(self, detail=""):
        t = now()
        if t - self.last >= self.every:
            self.last = t
            self.out(f"{self.label}: {t - self.t0:.0f}s" + (f", {detail}" if detail else ""))


class Undo:
    """What one run made, undone in reverse order when that run fails."""

    def __init__(self, out=None):
        self.steps, self.out = [], out or log

    def add(self, what, fn):
        self.steps.append((what, fn))

    def run(self):
        done = []
        for what, fn in reversed(self.steps):
            try:
                fn()
                done.append(what)
            except BaseException as e:  # noqa: B902 - cleanup goes on whatever one step raised
                self.out(f"cleanup of {what} failed: {e}")
        self.steps = []
        return done


def failed_run(prefix, step, exc, undo, hint, logfile):
    """The end of a failed run: details, the undo, then one line (what failed, what to do).
    Returns the SystemExit to raise (rc 1, no traceback; an unexpected error's traceback goes
    to logfile)."""
    if isinstance(exc, SystemExit):
        detail = str(exc.code if exc.code is not None else "")
    elif isinstance(exc, KeyboardInterrupt):
        detail = f"interrupted ({exc.args[0] if exc.args else 'SIGINT'})"
        hint = "run the same command again to start over"
    else:
        detail = f"{type(exc).__name__}: {exc}"
        logfile.parent.mkdir(parents=True, exist_ok=True)
        logfile.write_text("".join(traceback.format_exception(exc)))
        hint = f"{hint} (traceback in {logfile})"
    lines = [ln for ln in detail.splitlines() if ln.strip()]
    for ln in lines[1:]:
        print(f"{prefix}:   {ln}", flush=True)
    cleaned = undo.run()
    head = lines[0] if lines else "failed"
    head = head[len(prefix) + 2:] if head.startswith(prefix + ": ") else head
    what = f"; undone: {', '.join(cleaned)}" if cleaned else ""
    return SystemExit(f"{prefix}: FAILED at {step}: {head}{what}. {hint}")


def save_timing(path, value, timings=None):
    timings = timings or TIMINGS
    data = json.loads(timings.read_text()) if timings.exists() else {}
    d = data
    for k in path[:-1]:
        d = d.setdefault(k, {})
    d[path[-1]] = value
    timings.parent.mkdir(parents=True, exist_ok=True)
    timings.write_text(json.dumps(data, indent=1, sort_keys=True))


# ---------------------------------------------------------------- topology (lab pillar)
def lab_pillar(pdir=None, gen_pillar=None):
    """Merge the plain-YAML lab pillar files listed in <pdir>/top.sls for '*' (default
    lab/pillar; generated files from <gen_pillar>, default .lab/gen/pillar)."""
    import yaml

    pdir = pdir or LABSRC / "pillar"
    gen_pillar = gen_pillar or GEN_PILLAR
    top = yaml.safe_load((pdir / "top.sls").read_text())
    merged = {}

    def merge(a, b):
        for k, v in b.items():
            if isinstance(v, dict) and isinstance(a.get(k), dict):
                merge(a[k], v)
            else:
                a[k] = v

    for name in top["base"]["*"]:
        rel = name.replace(".", "/")
        for f in (pdir / f"{rel}.sls", pdir / rel / "init.sls", gen_pillar / f"{rel}.sls"):
            if f.exists():
                merge(merged, yaml.safe_load(f.read_text()) or {})
                break
    return merged


def gen_secrets():
    """.lab/gen/pillar/lab_secrets.sls: random lab secrets, made once per .lab/ (never in git)."""
    import base64
    import yaml

    f = GEN_PILLAR / "lab_secrets.sls"
    if f.exists():
        return
    GEN_PILLAR.mkdir(parents=True, exist_ok=True)
    tmp = LAB / "gen" / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "oneadmin@one-lab", "-f", tmp / "oneadmin"])
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-subj", "/CN=one-cc.lan.lab.local", "-keyout", tmp / "proxy.key", "-out", tmp / "proxy.crt"])

    def pw():
        return base64.urlsafe_b64encode(os.urandom(18)).decode()

    data = {
        "opennebula": {"oneadmin": {"ssh_public_key": (tmp / "oneadmin.pub").read_text().strip()}},
        "secrets": {
            "corosync_authkey": base64.b64encode(os.urandom(256)).decode(),
            "one_auth": f"oneadmin:{pw()}",
            "one_db_password": pw(),
            "db_replication_password": pw(),
            "oneadmin_ssh_private_key": (tmp / "oneadmin").read_text(),
            "ricci_password": pw(),
            "fence_xvm_key": base64.b64encode(os.urandom(512)).decode(),
            "proxy_cert": (tmp / "proxy.crt").read_text(),
            "proxy_key": (tmp / "proxy.key").read_text(),
        },
    }
    f.write_text("# generated by lab/labctl.py: lab-only random secrets (git-ignored)\n"
                 + yaml.safe_dump(data, default_flow_style=False))
    os.chmod(f, 0o600)
    shutil.rmtree(tmp)


class Topo:
    def __init__(self):
        p = lab_pillar()
        c = p["cluster"]
        self.pillar = p
        self.networks = {n: ipaddress.ip_network(cidr) for n, cidr in c["networks"].items()}
        self.frontends = sorted(c.get("frontends") or {})
        self.hypervisors = sorted(c.get("hypervisors") or {})
        self.addrs = {}
        for role in ("frontends", "hypervisors"):
            for name, a in (c.get(role) or {}).items():
                self.addrs[name] = dict(a)
        self.hosts = self.frontends + self.hypervisors
        self.vips = dict(c.get("vips") or {})
        # ssh, salt-master and the default route use the san network when there is one
        self.mgmt_net = "san" if "san" in self.networks else sorted(self.networks)[0]

    def gw(self, net):
        return str(next(self.networks[net].hosts()))

    def prefix(self, net):
        return self.networks[net].prefixlen

    def ip(self, host):
        return self.addrs[host][self.mgmt_net]

    @property
    def master_ip(self):
        return self.gw(self.mgmt_net)


# ---------------------------------------------------------------- processes by PID
def proc_start(pid):
    """Start time of a PID (clock ticks since boot): PID + start time name one process."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(") ", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def record_pid(path, pid):
    pathlib.Path(path).write_text(f"{pid} {proc_start(pid)}\n")


def recorded_pid(path):
    """The PID recorded in path if that very process (same start time) still runs."""
    try:
        pid, start = pathlib.Path(path).read_text().split()[:2]
        pid = int(pid)
    except (FileNotFoundError, ValueError):
        return None
    return pid if str(proc_start(pid)) == start else None


def pid_alive(pid, start=None):
    st = proc_start(pid)
    return st is not None and (start is None or st == start)


def host_pid(name):
    """PID of the host's systemd-nspawn if it is running."""
    return recorded_pid(HOSTS_DIR / name / "nspawn.pid")


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


def stop_pid(pid, what, sig=signal.SIGTERM, grace=20.0):
    """Signal one PID (sig=None: it was already signalled), wait, SIGKILL after grace."""
    start = proc_start(pid) if pid else None
    if start is None:
        return
    if sig:
        os.kill(pid, sig)
    t = now()
    while now() - t < grace and pid_alive(pid, start):
        time.sleep(0.1)
    if pid_alive(pid, start):
        log(f"{what}: pid {pid} still alive after {grace:.0f}s, SIGKILL")
        os.kill(pid, signal.SIGKILL)
        t = now()
        while now() - t < 10 and pid_alive(pid, start):
            time.sleep(0.1)


# ---------------------------------------------------------------- network
def mirror_ips():
    ips = sorted({ai[4][0] for ai in socket.getaddrinfo(MIRROR_HOST, 80, socket.AF_INET)})
    if not ips:
        raise SystemExit(f"lab: cannot resolve {MIRROR_HOST}")
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
                raise SystemExit(f"lab: network {n} {net} overlaps {cidr} on {dev}: change lab pillar")
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


# ---------------------------------------------------------------- base + keys
def build_base():
    env = dict(os.environ, LAB_DIR=str(LAB), VENV=str(VENV), MIRROR=MIRROR)
    p = subprocess.run([str(LABSRC / "build-base.sh")], env=env)
    if p.returncode:
        raise SystemExit("lab: base build failed")


def build_guest():
    """The test guest (lab/guest/build.sh: kernel, busybox initrd, data disk), cached in
    GUEST_CACHE; bound read-only into every host at GUEST_MNT, where the lab registers it in
    OpenNebula (lab/labcloud.py)."""
    p = subprocess.run([str(LABSRC / "guest" / "build.sh")], env=dict(os.environ, GUEST_CACHE=str(GUEST_CACHE)))
    if p.returncode:
        raise SystemExit("lab: test guest build failed")


def ensure_key(key=None, comment="onelab"):
    """The lab's ssh key pair (the VM tier passes its own path and comment)."""
    key = key or KEY
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key])


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
        raise missing_tool(argv[0])
    with open(h / "console.log", "ab") as out, open(os.devnull, "rb") as devnull:
        p = subprocess.Popen(argv, stdin=devnull, stdout=out, stderr=subprocess.STDOUT,
                             preexec_fn=into_cgroup, start_new_session=True)
    record_pid(h / "nspawn.pid", p.pid)
    return p.pid


def ssh_argv(topo, host, *cmd, timeout=5, key=None, known_hosts=None):
    """ssh to root@<host> with the lab key and the private known_hosts (no trust on first
    use); the VM tier passes its own key and known_hosts."""
    return ["ssh", "-i", str(key or KEY), "-o", f"UserKnownHostsFile={known_hosts or KNOWN_HOSTS}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={timeout}", "-o", "LogLevel=ERROR",
            f"root@{topo.ip(host)}", *cmd]


def ssh(topo, host, cmd, timeout=120, check=False):
    """Run a shell command on a lab host; returns CompletedProcess (text)."""
    return run_ssh(ssh_argv(topo, host, cmd), host, cmd, timeout, check)


def run_ssh(argv, host, cmd, timeout=120, check=False):
    """Run one ssh argv (timeout -> rc 124; check -> AssertionError with the output)."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        p = subprocess.CompletedProcess(argv, 124, e.stdout or "", f"timeout {timeout}s")
    if check and p.returncode:
        raise AssertionError(f"{host}: {cmd} rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def write_known_hosts(topo):
    lines = []
    for name in topo.hosts:
        pub = (HOSTS_DIR / name / "merged/etc/ssh/ssh_host_ed25519_key.pub")
        if pub.exists():
            kt, kb = pub.read_text().split()[:2]
            ips = ",".join(topo.addrs[name][n] for n in topo.networks if n in topo.addrs[name])
            lines.append(f"{name},{ips} {kt} {kb}")
    KNOWN_HOSTS.write_text("\n".join(lines) + "\n")


def wait_booted(topo, names, t0, timeout=180):
    """Seconds until systemd is running/degraded and ssh answers, per host."""
    out = {}
    pending = list(names)
    deadline = now() + timeout
    tick = Ticker("booting")
    while pending and now() < deadline:
        tick.tick(f"waiting for {', '.join(pending)}")
        for name in list(pending):
            init = container_init(name)
            if not init:
                if not host_pid(name):
                    raise SystemExit(f"lab: {name} nspawn exited, see {HOSTS_DIR / name / 'console.log'}")
                continue
            st = run(["nsenter", "-t", init, "-m", "-u", "-i", "-n", "-p",
                      "systemctl", "is-system-running"], check=False).stdout.strip()
            if st in ("running", "degraded") and ssh(topo, name, "true", timeout=10).returncode == 0:
                out[name] = round(now() - t0, 1)
                pending.remove(name)
        time.sleep(0.3)
    if pending:
        raise SystemExit(f"lab: {pending} not booted after {timeout}s "
                         f"(see {HOSTS_DIR}/<host>/console.log)")
    return out


def host_has_state(name):
    """True if the host's overlay kept state from an earlier run (lab-down without PURGE)."""
    upper = HOSTS_DIR / name / "upper"
    return upper.is_dir() and any(upper.iterdir())


def hosts_up(topo, undo=None):
    """Boot the hosts that do not run; returns (started, kept): kept = started hosts whose
    overlay kept an earlier run's state."""
    t0 = now()
    started, kept = [], []
    for name in topo.hosts:
        if host_pid(name):
            continue
        if host_has_state(name):
            kept.append(name)
        if undo:
            undo.add(f"host {name}", lambda n=name: stop_host(n))
        mk_host(topo, name)
        boot_host(name)
        started.append(name)
    if kept:
        log(f"{', '.join(kept)}: booting with the state of the last run (`make lab-down` keeps "
            "it; `make lab-down PURGE=1` for hosts from scratch): the highstate is not a first run")
    write_known_hosts(topo)
    if started:
        log(f"booting {', '.join(started)}")
        times = wait_booted(topo, started, t0)
        boot_s = max(times.values())
        log(f"booted: {times} -> all up in {boot_s:.1f}s")
        save_timing(["boot_s"], boot_s)
    reused = [n for n in topo.hosts if n not in started]
    if reused:
        wait_booted(topo, reused, now(), timeout=60)
        log(f"reusing running hosts {', '.join(reused)} (already highstated: not a first run)")
    return started, kept


def crash_host(name):
    """SIGKILL the container's systemd (PID 1): the whole PID namespace dies, like a power cut."""
    init = container_init(name)
    if not init:
        raise SystemExit(f"lab: {name} is not running")
    pid = host_pid(name)
    start = proc_start(pid)
    os.kill(init, signal.SIGKILL)
    t = now()
    while now() - t < 30 and pid_alive(pid, start):
        time.sleep(0.1)
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
        stop_pid(pid, name, sig=None if signalled else signal.SIGTERM, grace=30)
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


# ---------------------------------------------------------------- salt configs
def fileroot(dest=None):
    """A symlink farm onto the repo's formula dirs, at ``dest`` (default .lab/fileroot; the VM
    tier passes its own).

    file_roots must be the working tree (/work/main) but Salt's roots fileserver walks every
    file under a root without pruning ignored dirs: the repo root holds .lab/ (a Debian rootfs
    and the hosts' mounted overlays) and .venv/, so listing it takes minutes. The farm links
    every top-level entry of the repo except those, so salt:// paths are the repo's own."""
    dest = FILEROOT if dest is None else dest
    dest.mkdir(parents=True, exist_ok=True)
    # test/ stays in (1 MB): lab/salt/lab/oned_double.sls installs salt://test/doubles/oned_double.py
    skip = {"lab", "bench", "build", "dist", "docs"}
    want = {p.name for p in REPO.iterdir() if not p.name.startswith(".") and p.name not in skip}
    for link in dest.iterdir():
        if link.name not in want or not link.is_symlink():
            link.unlink() if link.is_symlink() or link.is_file() else shutil.rmtree(link)
    for n in want:
        link = dest / n
        if not link.is_symlink():
            link.symlink_to(REPO / n)


def render_template(name, dest, **kw):
    tpl = string.Template((LABSRC / "templates" / name).read_text())
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(tpl.substitute(**kw))


def salt_configs(topo):
    fileroot()
    GEN_SALT.mkdir(parents=True, exist_ok=True)
    common = dict(repo=REPO, lab=LAB, fileroot=FILEROOT, labsalt=LABSRC / "salt",
                  gensalt=GEN_SALT, pillar=LABSRC / "pillar", genpillar=GEN_PILLAR)
    render_template("salt-ssh.master", SSH_CONF / "master", root=SSH_CONF, **common)
    roster = []
    for name in topo.hosts:
        roster.append(string.Template((LABSRC / "templates" / "roster.host").read_text())
                      .substitute(name=name, ip=topo.ip(name), key=KEY, known_hosts=KNOWN_HOSTS))
    (SSH_CONF / "roster").write_text("# generated by lab/labctl.py from lab/templates/roster.host\n"
                                     + "".join(roster))
    render_template("master", MASTER_DIR / "conf" / "master", root=MASTER_DIR,
                    interface=topo.master_ip, **common)


# ---------------------------------------------------------------- salt-master method
def master_pid():
    return recorded_pid(MASTER_DIR / "salt-master.lab.pid")


def salt_bin(n):
    return str(VENV / "bin" / n)


def salt_key(*args):
    return run([salt_bin("salt-key"), "-c", MASTER_DIR / "conf", *args], check=False)


def master_start(topo):
    if not master_pid():
        (MASTER_DIR / "log").mkdir(parents=True, exist_ok=True)
        with open(MASTER_DIR / "log" / "stdout.log", "ab") as out, open(os.devnull, "rb") as dn:
            p = subprocess.Popen([salt_bin("salt-master"), "-c", str(MASTER_DIR / "conf"),
                                  "-l", "warning"], stdin=dn, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        record_pid(MASTER_DIR / "salt-master.lab.pid", p.pid)
        log(f"salt-master pid {p.pid} on {topo.master_ip}:4505/4506")
        t = now()
        while now() - t < 60:
            r = socket.socket()
            r.settimeout(0.5)
            try:
                r.connect((topo.master_ip, 4506))
                break
            except OSError:
                time.sleep(0.3)
            finally:
                r.close()
        else:
            raise SystemExit(f"lab: salt-master did not listen, see {MASTER_DIR / 'log'}")


def master_up(topo):
    master_start(topo)
    # a host that cached another master key (master dir purged): make it forget that key
    mpub = (MASTER_DIR / "pki/master/master.pub").read_text().strip()
    for name in topo.hosts:
        cached = HOSTS_DIR / name / "merged/etc/salt/pki/minion/minion_master.pub"
        if cached.exists() and cached.read_text().strip() != mpub:
            ssh(topo, name, "rm -f /etc/salt/pki/minion/minion_master.pub; systemctl restart salt-minion")
    secs = accept_minions(topo)
    log(f"minions {', '.join(topo.hosts)} accepted and answering ({secs}s)")


def accept_minions(topo, timeout=120):
    t = now()
    want = set(topo.hosts)
    tick = Ticker("salt-master: minion keys")
    while now() - t < timeout:
        tick.tick(f"waiting for {', '.join(sorted(want))} to authenticate and answer")
        keys = json.loads(salt_key("-L", "--out=json").stdout or "{}")
        acc = set(keys.get("minions", []))
        # an accepted key that differs from the host's current key (host re-created): drop it
        for name in want & acc:
            host_pub = HOSTS_DIR / name / "merged/etc/salt/pki/minion/minion.pub"
            mpub = MASTER_DIR / "pki/master/minions" / name
            if host_pub.exists() and mpub.exists() and host_pub.read_text().strip() != mpub.read_text().strip():
                salt_key("-d", name, "-y")
                acc.discard(name)
        pend = set(keys.get("minions_pre", [])) | set(keys.get("minions_denied", []))
        if pend & want:
            salt_key("-A", "-y")
        if want <= acc:
            # bounded: a minion that authenticated mid-publish makes the CLI wait for
            # find_job rounds (30 s+); a fresh ping a moment later answers at once
            try:
                p = run([salt_bin("salt"), "-c", MASTER_DIR / "conf", "-L", ",".join(sorted(want)),
                         "test.ping", "--out=json", "--static", "-t", "5"], check=False, timeout=10)
                if set(k for k, v in json.loads(p.stdout).items() if v is True) >= want:
                    return round(now() - t, 1)
            except (ValueError, subprocess.TimeoutExpired):
                pass
        time.sleep(1)
    raise SystemExit(f"lab: minions {sorted(want)} not all accepted+answering after {timeout}s")


def master_down():
    pid = master_pid()
    if pid:
        # salt-master's workers are in its process group (it was started as a session
        # leader): note them (PID + start time) before stopping, kill survivors one by one
        group = []
        for d in pathlib.Path("/proc").iterdir():
            if d.name.isdigit() and d.name != str(pid):
                try:
                    if int((d / "stat").read_text().rsplit(") ", 1)[1].split()[2]) == pid:
                        group.append((int(d.name), proc_start(int(d.name))))
                except (OSError, IndexError, ValueError):
                    pass
        stop_pid(pid, "salt-master", grace=20)
        for p, st in group:
            if pid_alive(p, st):
                os.kill(p, signal.SIGKILL)
    (MASTER_DIR / "salt-master.lab.pid").unlink(missing_ok=True)


# ---------------------------------------------------------------- apply + summary
def is_state_ret(v):
    return isinstance(v, dict) and "result" in v and "__run_num__" in v


def summarize(ret, hosts):
    """Per host: states, failed [(id, comment)], changed [ids], error text."""
    out = {}
    for h in hosts:
        r = ret.get(h) if isinstance(ret, dict) else None
        s = {"states": 0, "failed": [], "changed": [], "error": None, "duration_s": 0.0}
        if isinstance(r, dict) and r and all(is_state_ret(v) for v in r.values()):
            s["states"] = len(r)
            for sid, v in sorted(r.items(), key=lambda kv: kv[1]["__run_num__"]):
                if v["result"] is False:
                    s["failed"].append((sid, str(v.get("comment"))[:1500]))
                if v.get("changes"):
                    s["changed"].append(sid)
                s["duration_s"] += float(v.get("duration") or 0) / 1000
        elif r is None:
            s["error"] = "no return"
        else:
            s["error"] = (json.dumps(r, indent=1) if not isinstance(r, str) else r)[:4000]
        out[h] = s
    return out


def stream_salt(argv, hosts, label, timeout, heartbeat=10.0, out=None):
    """Run a salt CLI (salt-ssh or salt) that prints one JSON document per minion as each one
    returns (``--out=json`` without ``--static``). Logs each return with its elapsed seconds
    and, every `heartbeat` seconds, who is still running. Returns (rc, raw, stderr)."""
    out = out or log
    try:
        p = subprocess.Popen([str(a) for a in argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        raise missing_tool(str(argv[0])) from None
    docs, errs = queue.Queue(), []

    def read_out():
        text = []
        for line in p.stdout:
            text.append(line)
            if line.rstrip() != "}":  # the json outputter closes a document in column 0
                continue
            blob = "".join(text)
            start = blob.find("{")
            try:
                doc = json.loads(blob[start:]) if start >= 0 else None
            except ValueError:
                continue
            text = []
            if isinstance(doc, dict):
                docs.put(doc)
        if "".join(text).strip():
            docs.put({"_unparsed": "".join(text)[-4000:]})

    def read_err():
        errs.append(p.stderr.read())

    threads = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for th in threads:
        th.start()
    raw, pending = {}, list(hosts)
    tick = Ticker(label, every=heartbeat, out=out)
    rc = None
    while True:
        try:
            doc = docs.get(timeout=0.5)
        except queue.Empty:
            doc = None
        if doc:
            raw.update(doc)
            for h in [h for h in doc if h in pending]:
                pending.remove(h)
                s = summarize(doc, [h])[h]
                out(f"{label}: {h} returned after {tick.elapsed():.0f}s: " + (
                    f"ERROR {str(s['error'])[:200]}" if s["error"] else
                    f"{s['states']} states, {len(s['failed'])} failed, {len(s['changed'])} changed"))
            continue
        if rc is not None and docs.empty():
            break
        if rc is None:
            rc = p.poll()
            if rc is None and tick.elapsed() > timeout:
                p.kill()
                rc = p.wait()
                errs.append(f"timeout {timeout}s")
            if rc is not None:
                for th in threads:
                    th.join(timeout=30)
                continue
            tick.tick(f"running on {', '.join(pending)}" if pending else "finishing")
    return rc, raw, "".join(errs)


def highstate(topo, method, sls=None, test=False, timeout=3600, label=None, pillar=None):
    """One highstate (or state.sls) on every lab host, a line per host as it returns;
    `pillar` (a dict) is passed as pillar= on the command line. Returns (seconds, summary, raw)."""
    fun = ["state.sls", sls] if sls else ["state.apply"]
    if test:
        fun.append("test=True")
    if pillar:
        fun.append("pillar=" + json.dumps(pillar))
    if method == "ssh":
        argv = [salt_bin("salt-ssh"), "-c", SSH_CONF, f"--roster-file={SSH_CONF / 'roster'}",
                "*", *fun, "--out=json", "--no-color", "-l", "quiet"]
    elif method == "master":
        argv = [salt_bin("salt"), "-c", MASTER_DIR / "conf", "-L", ",".join(topo.hosts),
                "--timeout", "60", *fun, "--out=json", "--no-color", "-l", "quiet"]
        if not sls:
            argv[argv.index("state.apply")] = "state.highstate"
    else:
        raise SystemExit(f"lab: unknown method {method}")
    label = label or f"{sls or 'highstate'} ({method})"
    log(f"{label}: started on {', '.join(topo.hosts)}")
    t = now()
    rc, raw, stderr = stream_salt(argv, topo.hosts, label, timeout)
    secs = round(now() - t, 1)
    summ = summarize(raw, topo.hosts)
    if not raw:
        for s in summ.values():
            s["error"] = f"rc={rc} stderr: {stderr[-3000:]}"
    return secs, summ, raw


def print_summary(label, secs, summ):
    log(f"{label}: {secs:.1f}s")
    for h, s in summ.items():
        if s["error"]:
            log(f"  {h}: ERROR {s['error']}")
            continue
        log(f"  {h}: {s['states']} states, {len(s['failed'])} failed, {len(s['changed'])} changed")
        for sid, comment in s["failed"]:
            log(f"    FAILED {sid}: {comment}")


def ok(summ):
    return all(not s["error"] and not s["failed"] and s["states"] for s in summ.values())


def apply(topo, method, label="highstate"):
    secs, summ, _ = highstate(topo, method, label=f"{label} ({method})")
    print_summary(f"{label} ({method})", secs, summ)
    save_timing(["highstate", method, label], {"seconds": secs, "changed": {
        h: len(s["changed"]) for h, s in summ.items()}, "ok": ok(summ)})
    return ok(summ)


# ---------------------------------------------------------------- commands
def need_root():
    if os.geteuid() != 0:
        raise SystemExit("lab: must run as root (nspawn, bridge, nft, overlayfs)")


UP_HINTS = {
    "checking the machine": "`make lab-check` lists what is missing; `make lab` installs it",
    "the base rootfs": "read the .lab/base-*.log named above; `make lab` builds the base again",
    "the test guest": "read the lines above; `make lab` builds the guest again",
    "the lab network": "another bridge or table may hold the lab ranges: `make lab-status`",
    "booting the hosts": "read .lab/hosts/<host>/console.log; `make lab` boots them again",
    "the salt-master": "read .lab/master/log/; `make lab METHOD=master` starts it again",
}


def cmd_up(a):
    """Base, network, hosts (and salt-master), then one highstate. A failure before the
    highstate undoes what this run made; a failing highstate leaves the hosts up to look at."""
    undo = Undo()
    step = "checking the machine"
    try:
        need_root()
        require_tools("container")
        LAB.mkdir(parents=True, exist_ok=True)
        gen_secrets()
        topo = Topo()
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
        if a.method == "master":
            if not master_pid():
                undo.add("salt-master", master_down)
            master_start(topo)  # listening before the minions boot: no auth back-off
        step = "booting the hosts"
        started, kept = hosts_up(topo, undo)
        if a.method == "master":
            step = "the salt-master"
            master_up(topo)
    except (SystemExit, Exception, KeyboardInterrupt) as e:
        raise failed_run("lab", step, e, undo, UP_HINTS[step], LAB / "last-failure.log") from None
    if a.no_apply:
        return 0
    first = set(started) == set(topo.hosts) and not kept
    if apply(topo, a.method, label="first highstate" if first else "highstate"):
        return 0
    log("the highstate failed (above); the hosts stay up to look at: `make lab-ssh H=<host>`, "
        "`make lab-apply` to run it again, `make lab-down` to stop")
    return 1


def cmd_apply(a):
    topo = Topo()
    salt_configs(topo)
    if a.method == "master":
        master_up(topo)
    secs, summ, raw = highstate(topo, a.method, sls=a.sls, test=a.test)
    print_summary(f"{a.sls or 'highstate'} ({a.method})", secs, summ)
    if a.json:
        print(json.dumps(raw, indent=1))
    return 0 if ok(summ) else 1


def cmd_down(a):
    need_root()
    master_down()
    names = sorted(p.name for p in HOSTS_DIR.iterdir()) if HOSTS_DIR.is_dir() else []
    # SIGTERM every nspawn first (clean halt of each container's systemd, in parallel)
    for name in names:
        pid = host_pid(name)
        if pid:
            os.kill(pid, signal.SIGTERM)
    for name in names:
        stop_host(name, purge=a.purge, signalled=True)
        log(f"{name} stopped")
    for root in cg_roots():
        try:
            (root / CGROUP).rmdir()
        except OSError:
            pass
    net_down()
    if a.purge:
        shutil.rmtree(MASTER_DIR, ignore_errors=True)
        shutil.rmtree(SSH_CONF, ignore_errors=True)
        KNOWN_HOSTS.unlink(missing_ok=True)
    log("down" + (" (hosts purged; base kept)" if a.purge else ""))
    return 0


def cmd_status(a):
    topo = Topo()
    for name in topo.hosts:
        pid = host_pid(name)
        down = "down" + (" (state of the last run kept: `make lab-down PURGE=1` drops it)"
                         if host_has_state(name) else "")
        log(f"{name:10} {topo.ip(name):15} " + (f"nspawn pid {pid}, init {container_init(name)}"
                                                 if pid else down))
    br = run(["ip", "-br", "-4", "addr", "show", BR], check=False)
    log(f"bridge {BR}: " + (br.stdout.strip() or "absent"))
    nft = run(["nft", "list", "table", "ip", NFT_TABLE], check=False).returncode == 0
    log(f"nft table ip {NFT_TABLE}: {'present' if nft else 'absent'}")
    log(f"salt-master: pid {master_pid() or '-'}")
    if TIMINGS.exists():
        log(f"timings {TIMINGS}: {json.dumps(json.loads(TIMINGS.read_text()))}")
    return 0


def ssh_command(a, topo, prefix="lab"):
    """`ssh HOST [--] CMD...`: the command words after the host (a leading -- dropped)."""
    if a.host not in topo.hosts:
        raise SystemExit(f"{prefix}: no host {a.host!r}; the lab's hosts: {', '.join(topo.hosts)}")
    cmd = list(a.command)
    return cmd[1:] if cmd[:1] == ["--"] else cmd


def cmd_ssh(a):
    topo = Topo()
    os.execvp("ssh", ssh_argv(topo, a.host, *ssh_command(a, topo)))


def cmd_crash(a):
    need_root()
    crash_host(a.host)
    log(f"{a.host}: systemd SIGKILLed")
    return 0


def cmd_boot(a):
    need_root()
    topo = Topo()
    if host_pid(a.host):
        log(f"{a.host} already running")
        return 0
    stop_host(a.host)  # unmount/cgroup leftovers of a crash
    mk_host(topo, a.host)
    t0 = now()
    boot_host(a.host)
    log(f"{a.host} booted in {wait_booted(topo, [a.host], t0)[a.host]}s")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="labctl.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--method", choices=["ssh", "master"], default=os.environ.get("METHOD", "ssh"))
    up.add_argument("--no-apply", action="store_true")
    ap_ = sub.add_parser("apply")
    ap_.add_argument("--method", choices=["ssh", "master"], default=os.environ.get("METHOD", "ssh"))
    ap_.add_argument("--sls")
    ap_.add_argument("--test", action="store_true")
    ap_.add_argument("--json", action="store_true")
    dn = sub.add_parser("down")
    dn.add_argument("--purge", action="store_true")
    sub.add_parser("status")
    s = sub.add_parser("ssh", help="root shell on HOST, or run `-- CMD...` there")
    s.add_argument("host")
    s.add_argument("command", nargs=argparse.REMAINDER)
    for n in ("crash", "boot"):
        sub.add_parser(n).add_argument("host")
    a = ap.parse_args(argv)
    return {"up": cmd_up, "apply": cmd_apply, "down": cmd_down, "status": cmd_status,
            "ssh": cmd_ssh, "crash": cmd_crash, "boot": cmd_boot}[a.cmd](a)


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


if __name__ == "__main__":
    # SIGTERM (a CI timeout, `kill PID`) and SIGINT, also where a background job ignores
    # it, take the same path as Ctrl-C: the run undoes what it made.
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)
    sys.exit(main())
