"""The lab hosts' life cycle, the same for both tiers: boot the ones that do not run (and
undo that on failure), wait for them, stop them all, boot one again.

A tier (labkit.containers: nspawn hosts, labkit.vms: qemu guests) makes one HostSet with its
own per-host steps: pid(name), has_state(name), start(topo, name), stop(name, purge,
signalled), wait(topo, names, t0, timeout) -> {name: seconds}, known_hosts(topo), crash(name)
(a power cut), ssh_argv(topo, name, *cmd); topo() is the running lab's topology and
need_root() refuses a user that is not root.
"""
import os
import signal

from labkit import core
from labkit.core import now


class HostSet:
    def __init__(self, noun, log, timings, topo, need_root, steps, kept_what="state", boot_note="",
                 killed="systemd"):
        self.noun, self.log, self.timings, self.topo, self.need_root = noun, log, timings, topo, need_root
        for step in ("pid", "has_state", "start", "stop", "wait", "known_hosts", "crash", "ssh_argv"):
            setattr(self, step, steps[step])
        self.kept_what, self.boot_note, self.killed = kept_what, boot_note, killed

    def up(self, topo, undo=None):
        """Boot the hosts that do not run; returns (started, kept): kept = started hosts that
        kept an earlier run's state (lab-down without PURGE)."""
        t0 = now()
        started, kept = [], []
        for name in topo.hosts:
            if self.pid(name):
                continue
            if self.has_state(name):
                kept.append(name)
            if undo:
                undo.add(f"{self.noun} {name}", lambda n=name: self.stop(n))
            self.start(topo, name)
            started.append(name)
        if kept:
            self.log(f"{', '.join(kept)}: booting with the {self.kept_what} of the last run (`make "
                     f"lab-down` keeps it; `make lab-down PURGE=1` for {self.noun}s from scratch): "
                     "the highstate is not a first run")
        self.known_hosts(topo)
        if started:
            self.log(f"booting {', '.join(started)}{self.boot_note}")
            times = self.wait(topo, started, t0)
            boot_s = max(times.values())
            self.log(f"booted: {times} -> all up in {boot_s:.1f}s")
            core.save_timing(self.timings, ["boot_s"], boot_s)
            core.save_timing(self.timings, ["boot_s_per_host"], times)
        reused = [n for n in topo.hosts if n not in started]
        if reused:
            self.wait(topo, reused, now(), timeout=60)
            self.log(f"reusing running {self.noun}s {', '.join(reused)} (already highstated: "
                     "not a first run)")
        return started, kept

    def stop_all(self, names, purge=False):
        """SIGTERM every host first (they halt in parallel), then wait for each by PID."""
        for name in names:
            pid = self.pid(name)
            if pid:
                os.kill(pid, signal.SIGTERM)
        for name in names:
            self.stop(name, purge=purge, signalled=True)
            self.log(f"{name} stopped")

    # ------------------------------------------------------------ the CLI's one-host commands
    def boot_one(self, name):
        """Boot one host again (after a crash or a stop)."""
        self.need_root()
        topo = self.topo()
        if self.pid(name):
            self.log(f"{name} already running")
            return 0
        self.stop(name)  # the leftovers of a crash (mounts, cgroups, pid file)
        t0 = now()
        self.start(topo, name)
        self.log(f"{name} booted in {self.wait(topo, [name], t0)[name]}s")
        return 0

    def crash_one(self, name):
        """A power cut of one host (SIGKILL)."""
        self.need_root()
        self.crash(name)
        self.log(f"{name}: {self.killed} SIGKILLed")
        return 0

    def ssh_exec(self, name, command):
        """Replace this process by ssh to the host: a root shell, or `[--] CMD...` there."""
        topo = self.topo()
        argv = self.ssh_argv(topo, name, *core.ssh_command(name, command, topo.hosts, self.log.prefix))
        os.execvp(argv[0], argv)
