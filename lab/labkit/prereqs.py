#!/usr/bin/env python3
"""prereqs: what the lab needs on the machine that runs it, checked and installed.

    python3 -m labkit.prereqs check   [--tier container|vm]   list what is missing and why (rc 1 if any)
    python3 -m labkit.prereqs install [--tier container|vm]   apt-get install only what is missing
(lab/ on PYTHONPATH, as the make targets run it; `python3 lab/labkit/prereqs.py ...` works too)

`make lab-check` runs `check`; `make lab` runs `install` before any long step. Standard
library only: it runs on the system python3 before the lab's .venv exists (python3-venv is
one of the things it installs). Tools come from Debian packages (apt-get, non-interactive,
no recommends); what no package can give (root, kernel features, free disk) is listed with
what to do instead. Installing changes nothing else on the machine: no service is enabled or
started by the lab's own choice.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# (what is checked, Debian package, why the lab needs it). A check is a command on PATH,
# or "py:<module>" for a module of the python3 that runs this.
COMMON = [
    ("ip", "iproute2", "lab bridges, taps and addresses"),
    ("ssh", "openssh-client", "salt-ssh and `make lab-ssh` reach the hosts"),
    ("ssh-keygen", "openssh-client", "the lab key and each host's own host keys"),
    ("openssl", "openssl", "the lab's random TLS certificate (proxy secret)"),
    ("mountpoint", "util-linux", "mount checks of overlays and chroot mounts"),
    ("debootstrap", "debootstrap", "builds the cached Debian bookworm root filesystem"),
    ("bc", "bc", "build step timings"),
    ("py:ensurepip", "python3-venv", "`make venv` (salt 3008.3, pytest) for the lab tools"),
]
TIERS = {
    "container": COMMON + [
        ("systemd-nspawn", "systemd-container", "boots each lab host with systemd as PID 1"),
        ("nft", "nftables", "the lab's own nft table: hosts reach only the Debian mirror"),
        ("nsenter", "util-linux", "asks each container's systemd whether it has booted"),
    ],
    "vm": COMMON + [
        ("qemu-system-x86_64", "qemu-system-x86", "runs the lab VMs (TCG: no KVM needed)"),
        ("qemu-img", "qemu-utils", "copy-on-write disks over the cached image"),
        ("mkfs.ext4", "e2fsprogs", "the image and each VM's seed disk (mkfs.ext4 -d)"),
        ("truncate", "coreutils", "sparse DRBD backing disks"),
    ],
}
# What a package cannot give: (check, what to do). Disk: the base rootfs is ~1.3 GiB, each
# host's overlay grows to ~150-300 MiB; the VM image is a 4 GiB sparse file (~1.6 GiB used).
NEED_DISK_GIB = {"container": 2.0, "vm": 4.0}


def _have(check):
    if check.startswith("py:"):
        try:
            __import__(check[3:])
            return True
        except ImportError:
            return False
    return shutil.which(check, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is not None


def missing_tools(tier):
    """[(check, package, why)] of the tier's tools that are absent, in table order."""
    return [row for row in TIERS[tier] if not _have(row[0])]


def system_problems(tier, lab_dir):
    """What no package fixes: [(what, what to do)]."""
    out = []
    if os.geteuid() != 0:
        out.append(("not root", "run the lab as root (bridges, mounts, namespaces)"))
    if not os.path.exists("/etc/debian_version"):
        out.append(("not Debian", "the lab is made for Debian 12 (bookworm) hosts"))
    if tier == "container":
        with open("/proc/filesystems") as f:
            fs = f.read()
        if "overlay" not in fs:
            out.append(("no overlayfs in the kernel", "each lab host is an overlay over the base"))
        if not os.path.exists("/dev/fuse"):
            out.append(("no /dev/fuse", "the MooseFS clients in the hosts mount through FUSE"))
        if not (os.path.isdir("/sys/fs/cgroup/unified") or os.path.exists("/sys/fs/cgroup/cgroup.procs")):
            out.append(("no cgroup2 hierarchy", "each host runs in a cgroup of its own"))
    if tier == "vm" and not os.path.exists("/dev/net/tun"):
        out.append(("no /dev/net/tun", "each VM NIC is a tap device"))
    d = lab_dir
    while not os.path.exists(d):
        d = os.path.dirname(d) or "/"
    st = os.statvfs(d)
    free = st.f_bavail * st.f_frsize / 2 ** 30
    if free < NEED_DISK_GIB[tier]:
        out.append((f"{free:.1f} GiB free under {d}",
                    f"the {tier} lab needs about {NEED_DISK_GIB[tier]:.0f} GiB (set LAB_DIR elsewhere)"))
    return out


def report(tier, lab_dir, out=print):
    """Print the check; return the missing tool rows and the system problems."""
    miss = missing_tools(tier)
    probs = system_problems(tier, lab_dir)
    if not miss and not probs:
        out(f"lab-check ({tier}): everything the lab needs is here")
    for check, pkg, why in miss:
        what = check[3:] + " (python module)" if check.startswith("py:") else check
        out(f"lab-check ({tier}): missing {what:20} package {pkg:18} {why}")
    for what, todo in probs:
        out(f"lab-check ({tier}): {what}: {todo}")
    return miss, probs


def packages(rows):
    return sorted({pkg for _c, pkg, _w in rows})


def apt_install(pkgs, out=print):
    """apt-get install the packages (non-interactive, no recommends), one line per package
    set up, a heartbeat every 10 s. Returns (rc, log path)."""
    log = os.path.join(os.environ.get("TMPDIR", "/tmp"), "onelab-prereqs-apt.log")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    t0 = time.monotonic()
    with open(log, "w") as lf:
        out(f"lab-prereqs: apt-get update (log {log})")
        rc = subprocess.run(["apt-get", "update", "-q"], stdin=subprocess.DEVNULL, stdout=lf,
                            stderr=subprocess.STDOUT, env=env).returncode
        if rc:
            return rc, log
        p = subprocess.Popen(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                              "-o", "DPkg::Lock::Timeout=300", *pkgs],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env=env, text=True, bufsize=1)
        last = time.monotonic()
        for line in p.stdout:
            lf.write(line)
            now = time.monotonic()
            if line.startswith("Setting up ") or now - last >= 10:
                out(f"lab-prereqs: {now - t0:5.0f}s  {line.strip()[:100]}")
                last = now
        rc = p.wait()
    return rc, log


def main(argv=None):
    ap = argparse.ArgumentParser(prog="labkit.prereqs", description=__doc__.split("\n\n")[0])
    ap.add_argument("action", choices=["check", "install"])
    ap.add_argument("--tier", choices=sorted(TIERS), default="container")
    ap.add_argument("--lab-dir", default=os.environ.get("LAB_DIR") or
                    os.path.join(REPO, ".lab"))
    a = ap.parse_args(argv)
    miss, probs = report(a.tier, a.lab_dir)
    if a.action == "check":
        if miss:
            print(f"lab-check: `make lab{' VARIANT=nfs' if a.tier == 'vm' else ''}` installs: "
                  + " ".join(packages(miss)))
        return 1 if miss or probs else 0
    if probs:
        print("lab-prereqs: FAILED: the machine cannot run the lab as it is (above); nothing installed")
        return 1
    if not miss:
        return 0
    pkgs = packages(miss)
    print(f"lab-prereqs: installing {len(pkgs)} Debian package(s): {' '.join(pkgs)}")
    if not shutil.which("apt-get"):
        print("lab-prereqs: FAILED: no apt-get here; install by hand: " + " ".join(pkgs))
        return 1
    t0 = time.monotonic()
    rc, log = apt_install(pkgs)
    still = missing_tools(a.tier)
    if rc or still:
        print(f"lab-prereqs: FAILED: apt-get rc={rc}, still missing: "
              f"{' '.join(packages(still)) or '-'}; read {log}, fix the package source and run again")
        return 1
    print(f"lab-prereqs: installed {' '.join(pkgs)} in {time.monotonic() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
