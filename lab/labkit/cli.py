"""The lab's command line (argparse only; lab/lab.mk and lab/vm.mk call it):

    python -m labkit container up [--method ssh|master] [--variant moosefs|raft] [--no-apply]
                                                                  base + net + hosts + highstate
    python -m labkit container apply [--method ssh|master] [--sls X] [--test] [--json]
    python -m labkit container down [--purge] | status | ssh HOST [--] [CMD...] | crash HOST | boot HOST
    python -m labkit vm up [--variant drbd_aoe_lvm|nfs] [--no-apply]   image + netns + VMs + highstate
    python -m labkit vm apply [--sls X] [--test] [--json] [--hosts a,b]
    python -m labkit vm down [--purge] | status | ssh HOST [--] [CMD...] | crash HOST | boot HOST
    python -m labkit vm link HOST NET up|down                        cut / restore a VM's NIC

with lab/ on PYTHONPATH (the make targets set it). `container` is the systemd-nspawn tier
(labkit.containers), `vm` the QEMU tier (labkit.vms).
"""
import argparse
import os

from labkit import containers, vms


def _common(sub, ops):
    """The subcommands both tiers have: down, status, ssh, crash, boot."""
    dn = sub.add_parser("down", help="stop everything by PID")
    dn.add_argument("--purge", action="store_true")
    dn.set_defaults(fn=lambda a: ops.down(purge=a.purge))
    sub.add_parser("status").set_defaults(fn=lambda a: ops.status())
    s = sub.add_parser("ssh", help="root shell on HOST, or run `-- CMD...` there")
    s.add_argument("host")
    s.add_argument("command", nargs=argparse.REMAINDER)
    s.set_defaults(fn=lambda a: ops.ssh_exec(a.host, a.command))
    for name in ("crash", "boot"):
        p = sub.add_parser(name)
        p.add_argument("host")
        p.set_defaults(fn=lambda a, op=getattr(ops, name): op(a.host))


def _apply_args(p):
    p.add_argument("--sls")
    p.add_argument("--test", action="store_true")
    p.add_argument("--json", action="store_true")


def parser():
    ap = argparse.ArgumentParser(prog="python -m labkit", description=__doc__.split("\n\n")[0])
    tiers = ap.add_subparsers(dest="tier", required=True)

    ct = tiers.add_parser("container", help="systemd-nspawn hosts (the default tier)")
    sub = ct.add_subparsers(dest="cmd", required=True)
    method = os.environ.get("METHOD", "ssh")
    up = sub.add_parser("up")
    up.add_argument("--method", choices=["ssh", "master"], default=method)
    up.add_argument("--variant", choices=sorted(containers.VARIANTS), default=None,
                    help="default: VARIANT, else the lab on disk, else moosefs")
    up.add_argument("--no-apply", action="store_true")
    up.set_defaults(fn=lambda a: containers.up(method=a.method, no_apply=a.no_apply, variant=a.variant))
    ap_ = sub.add_parser("apply")
    ap_.add_argument("--method", choices=["ssh", "master"], default=method)
    _apply_args(ap_)
    ap_.set_defaults(fn=lambda a: containers.reapply(a.method, sls=a.sls, test=a.test, show_json=a.json))
    _common(sub, containers)

    vt = tiers.add_parser("vm", help="QEMU TCG guests (VARIANT=drbd_aoe_lvm|nfs)")
    sub = vt.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up")
    up.add_argument("--variant", choices=vms.VARIANTS, default=None)
    up.add_argument("--no-apply", action="store_true")
    up.set_defaults(fn=lambda a: vms.up(variant=a.variant, no_apply=a.no_apply))
    ap_ = sub.add_parser("apply")
    _apply_args(ap_)
    ap_.add_argument("--hosts")
    ap_.set_defaults(fn=lambda a: vms.reapply(sls=a.sls, test=a.test, show_json=a.json,
                                              hosts=a.hosts.split(",") if a.hosts else None))
    _common(sub, vms)
    lk = sub.add_parser("link", help="cut / restore a VM's NIC on one lab network")
    lk.add_argument("host")
    lk.add_argument("net")
    lk.add_argument("state", choices=["up", "down"])
    lk.set_defaults(fn=lambda a: vms.link(a.host, a.net, a.state))
    return ap


def main(argv=None):
    a = parser().parse_args(argv)
    return a.fn(a)
