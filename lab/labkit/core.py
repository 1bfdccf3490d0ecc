"""What both lab tiers share: paths, output, commands, processes by PID, failures, timings,
the lab pillar (topology, generated secrets), ssh.

Nothing here knows a tier: the container tier (labkit.containers) and the VM tier
(labkit.vms) pass their own directory (`Dirs`), output prefix and topology class.
Nothing is started by name or stopped by name: every process is tracked by PID + start time.
"""
import base64
import ipaddress
import json
import os
import pathlib
import shutil
import signal
import subprocess
import time
import traceback

from labkit import prereqs

REPO = pathlib.Path(__file__).resolve().parents[2]
LABSRC = REPO / "lab"
LAB = pathlib.Path(os.environ.get("LAB_DIR", REPO / ".lab"))
_venv = pathlib.Path(os.environ.get("VENV", ".venv"))
VENV = _venv if _venv.is_absolute() else REPO / _venv
IMAGE_BUILD = LABSRC / "image" / "build.sh"  # the one image builder of both tiers


class Dirs:
    """The layout of one tier's state dir (.lab for the containers, .lab/vm for the VMs)."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.hosts = self.root / "hosts"
        self.key = self.root / "ssh" / "id_ed25519"
        self.known_hosts = self.root / "ssh" / "known_hosts"
        self.ssh_conf = self.root / "salt-ssh"
        self.master = self.root / "master"
        self.fileroot = self.root / "fileroot"  # symlink farm onto the repo (saltrun.fileroot)
        self.gen_salt = self.root / "gen" / "salt"  # generated states (bench floor)
        self.gen_pillar = self.root / "gen" / "pillar"  # generated lab secrets
        self.timings = self.root / "timings.json"
        self.failure_log = self.root / "last-failure.log"


# ---------------------------------------------------------------- output
def pick_variant(requested, variant_file, variants, default, prefix, tier):
    """A tier's variant: the one asked for, else the one on disk (variant_file: the lab that
    runs or ran last), else $VARIANT, else the tier's default; refused if the tier lacks it."""
    on_disk = variant_file.read_text().strip() if variant_file.exists() else None
    v = requested or on_disk or os.environ.get("VARIANT") or default
    if v not in variants:
        raise SystemExit(f"{prefix}: VARIANT={v}: the {tier} tier runs {', '.join(variants)}")
    return v


def logger(prefix):
    """print() with the tier's prefix ("lab:", "lab-vm:"), flushed: plain lines that read the
    same on a pipe, in CI and on a TTY."""
    def log(*a):
        print(f"{prefix}:", *a, flush=True)
    log.prefix = prefix
    return log


def now():
    return time.monotonic()


class Ticker:
    """A progress line every `every` seconds while a long step runs."""

    def __init__(self, label, every=10.0, out=None):
        self.label, self.every, self.out = label, every, out or print
        self.t0 = self.last = now()

    def elapsed(self):
        return now() - self.t0

    def tick(self, detail=""):
        t = now()
        if t - self.last >= self.every:
            self.last = t
            self.out(f"{self.label}: {t - self.t0:.0f}s" + (f", {detail}" if detail else ""))


def save_timing(timings, path, value):
    """Set value at the key path in the JSON file `timings` (figures of the last runs)."""
    data = json.loads(timings.read_text()) if timings.exists() else {}
    d = data
    for k in path[:-1]:
        d = d.setdefault(k, {})
    d[path[-1]] = value
    timings.parent.mkdir(parents=True, exist_ok=True)
    timings.write_text(json.dumps(data, indent=1, sort_keys=True))


def show_timings(timings, log):
    if timings.exists():
        log(f"timings {timings}: {json.dumps(json.loads(timings.read_text()))}")


# ---------------------------------------------------------------- commands and host tools
def missing_tool(tool, prefix="lab"):
    """SystemExit for a tool that is not installed: which package has it, what to run."""
    pkgs = {c: p for rows in prereqs.TIERS.values() for c, p, _w in rows}
    hint = f" (Debian package {pkgs[tool]})" if tool in pkgs else ""
    return SystemExit(f"{prefix}: {tool} is not installed{hint}: `make lab-check` lists what "
                      "is missing, `make lab` installs it")


def require_tools(tier, prefix="lab"):
    """Refuse to start while the tier's host tools are missing (the CLI run without make)."""
    miss = prereqs.missing_tools(tier)
    if miss:
        raise SystemExit(f"{prefix}: missing on this machine: "
                         + ", ".join(f"{c} ({p})" for c, p, _w in miss)
                         + ": `make lab-check` says why, `make lab` installs them")


def need_root(prefix, why):
    if os.geteuid() != 0:
        raise SystemExit(f"{prefix}: must run as root ({why})")


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


def build_image(tier, lab_dir, failure, **env):
    """lab/image/build.sh TIER: the tier's image, rebuilt only when its stamp changed
    (SystemExit(failure) when the build fails)."""
    env = dict(os.environ, LAB_DIR=str(lab_dir), VENV=str(VENV), **env)
    if subprocess.run([str(IMAGE_BUILD), tier], env=env).returncode:
        raise SystemExit(failure)


# ---------------------------------------------------------------- failures
class Undo:
    """What one run made, undone in reverse order when that run fails."""

    def __init__(self, out=None):
        self.steps, self.out = [], out or print

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


def _interrupted(signum, _frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def interrupts_undo():
    """SIGTERM (a CI timeout, `kill PID`) and SIGINT, also where a background job ignores it,
    take the same path as Ctrl-C: the run undoes what it made."""
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)


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


def wait_gone(pid, start, timeout, interval=0.1):
    t = now()
    while now() - t < timeout and pid_alive(pid, start):
        time.sleep(interval)


def stop_pid(pid, what, sig=signal.SIGTERM, grace=20.0, out=print):
    """Signal one PID (sig=None: it was already signalled), wait, SIGKILL after grace."""
    start = proc_start(pid) if pid else None
    if start is None:
        return
    if sig:
        os.kill(pid, sig)
    wait_gone(pid, start, grace)
    if pid_alive(pid, start):
        out(f"{what}: pid {pid} still alive after {grace:.0f}s, SIGKILL")
        os.kill(pid, signal.SIGKILL)
        wait_gone(pid, start, 10)


def kill_now(pid, timeout=30, interval=0.1):
    """SIGKILL one PID (a power cut) and wait until it is gone."""
    start = proc_start(pid)
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid, start, timeout, interval)


def group_members(pid):
    """[(PID, start time)] of the processes in pid's process group, pid itself left out."""
    group = []
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit() and d.name != str(pid):
            try:
                if int((d / "stat").read_text().rsplit(") ", 1)[1].split()[2]) == pid:
                    group.append((int(d.name), proc_start(int(d.name))))
            except (OSError, IndexError, ValueError):
                pass
    return group


# ---------------------------------------------------------------- topology (lab pillar)
def lab_pillar(pdir, gen_pillar):
    """Merge the plain-YAML lab pillar files listed in <pdir>/top.sls for '*' (generated
    files from <gen_pillar>)."""
    import yaml

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


class Topo:
    """Hosts, addresses and networks of a lab pillar's cluster: (ROLES in host order)."""

    ROLES = ("frontends", "hypervisors")

    def __init__(self, pillar):
        c = pillar["cluster"]
        self.pillar = pillar
        self.networks = {n: ipaddress.ip_network(cidr) for n, cidr in c["networks"].items()}
        self.frontends = sorted(c.get("frontends") or {})
        self.hypervisors = sorted(c.get("hypervisors") or {})
        self.addrs = {}
        for role in self.ROLES:
            for name, a in (c.get(role) or {}).items():
                self.addrs[name] = dict(a)
        self.hosts = [h for role in self.ROLES for h in sorted(c.get(role) or {})]
        self.vips = dict(c.get("vips") or {})
        # ssh, salt-master and the default route use the san network when there is one
        self.mgmt_net = "san" if "san" in self.networks else sorted(self.networks)[0]

    def gw(self, net):
        return str(next(self.networks[net].hosts()))

    def prefix(self, net):
        return self.networks[net].prefixlen

    def ip(self, host):
        return self.addrs[host][self.mgmt_net]


def gen_secrets(gen_pillar, prefix="lab"):
    """<gen_pillar>/lab_secrets.sls: random lab secrets, made once per tier dir (never in git)."""
    import yaml

    f = gen_pillar / "lab_secrets.sls"
    if f.exists():
        # a lab dir made before a secret was added: add only what is missing
        data = yaml.safe_load(f.read_text()) or {}
        if "fireedge_key" not in data.get("secrets", {}):
            data.setdefault("secrets", {})["fireedge_key"] = os.urandom(16).hex()
            f.write_text("# generated by lab/labkit (core.gen_secrets): lab-only random secrets (git-ignored)\n"
                         + yaml.safe_dump(data, default_flow_style=False))
        return
    gen_pillar.mkdir(parents=True, exist_ok=True)
    tmp = gen_pillar.parent / "tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "oneadmin@one-lab", "-f", tmp / "oneadmin"],
        prefix=prefix)
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
         "-subj", "/CN=one-cc.lan.lab.local", "-keyout", tmp / "proxy.key", "-out", tmp / "proxy.crt"],
        prefix=prefix)

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
            # FireEdge's AES-256 key: 32 characters, the same on every front-end
            "fireedge_key": os.urandom(16).hex(),
        },
    }
    f.write_text("# generated by lab/labkit (core.gen_secrets): lab-only random secrets (git-ignored)\n"
                 + yaml.safe_dump(data, default_flow_style=False))
    os.chmod(f, 0o600)
    shutil.rmtree(tmp)


# ---------------------------------------------------------------- ssh
def ensure_key(key, comment, prefix="lab"):
    """The tier's ssh key pair."""
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", key], prefix=prefix)


def ssh_argv(address, *cmd, key, known_hosts, timeout=5):
    """ssh to root@<address> with the tier's key and its private known_hosts (no trust on
    first use)."""
    return ["ssh", "-i", str(key), "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={timeout}", "-o", "LogLevel=ERROR",
            f"root@{address}", *cmd]


def run_ssh(argv, host, cmd, timeout=120, check=False):
    """Run one ssh argv (timeout -> rc 124; check -> AssertionError with the output)."""
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        p = subprocess.CompletedProcess(argv, 124, e.stdout or "", f"timeout {timeout}s")
    if check and p.returncode:
        raise AssertionError(f"{host}: {cmd} rc={p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def write_known_hosts(path, topo, nets, host_pub):
    """The private known_hosts: per host its name and addresses on `nets`, and the key in
    host_pub(host) (a host whose key file is not there yet is left out)."""
    lines = []
    for name in topo.hosts:
        pub = host_pub(name)
        if pub.exists():
            kt, kb = pub.read_text().split()[:2]
            names = ",".join([name] + [topo.addrs[name][n] for n in nets if n in topo.addrs[name]])
            lines.append(f"{names} {kt} {kb}")
    path.write_text("\n".join(lines) + "\n")


def ssh_command(host, command, hosts, prefix="lab"):
    """`ssh HOST [--] CMD...`: the command words after the host (a leading -- dropped)."""
    if host not in hosts:
        raise SystemExit(f"{prefix}: no host {host!r}; the lab's hosts: {', '.join(hosts)}")
    cmd = list(command)
    return cmd[1:] if cmd[:1] == ["--"] else cmd


def wait_hosts(names, ready, timeout, tick, detail, interval):
    """Poll ready(host) for every host not ready yet (ready may raise: the host's process
    is gone), a progress line from `tick` with detail(pending). Returns ({host: the
    monotonic time it was ready}, [hosts still not ready after timeout])."""
    res, pending = {}, list(names)
    deadline = now() + timeout
    while pending and now() < deadline:
        tick.tick(detail(pending))
        for name in list(pending):
            if ready(name):
                res[name] = now()
                pending.remove(name)
        time.sleep(interval)
    return res, pending
