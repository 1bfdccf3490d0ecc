"""cloud: the lab's OpenNebula cloud, through oned's XML-RPC API (pyone) and the lab's ssh.

What `make lab-test` does with the cloud the formula built: the test guest (lab/guest/build.sh,
bound read-only into the hosts at containers.GUEST_MNT) registered as a kernel and an initrd in
oned's files datastore and as a disk image in the variant's image datastore, one VM template,
VMs deployed, live-migrated and read on their hypervisor (qemu process, disk mount, the
guest's serial ticks). The connection goes to the front-ends' LAN VIP, i.e. whichever front-end
Pacemaker runs oned on, with oneadmin's credentials from the lab's generated secrets.

Everything here is a lab step, not part of the formula: operators register their own images.
"""
import re
import shlex
import time

import pyone
import yaml

# pyone enums as numbers (oned's XML): VM_STATE, LCM_STATE, IMAGE_STATE, DATASTORE_TYPES
VM_ACTIVE, VM_POWEROFF, VM_DONE = 3, 8, 6
LCM_PROLOG, LCM_RUNNING, LCM_MIGRATE = 1, 3, 4
IMAGE_READY, IMAGE_ERROR = 1, 5
DS_IMAGE, DS_FILE = 0, 2
PREFIX = "lab-guest"  # names of everything this module registers
TICK = re.compile(r"hvpguest tick=(\d+) uptime=([\d.]+) boots=(\d+) boot_id=(\w+)")


def one_auth(ctl):
    """oneadmin's `user:password` (the lab's generated secrets, never printed)."""
    sec = yaml.safe_load((ctl.GEN_PILLAR / "lab_secrets.sls").read_text())
    return sec["secrets"]["one_auth"].strip()


def client(ctl, topo, address=None):
    """pyone client for oned on `address` (default: the LAN VIP)."""
    address = address or topo.vips["lan"]
    port = (topo.pillar.get("opennebula", {}).get("lookup", {}).get("oned", {}) or {}).get("port", 2633)
    return pyone.OneServer(f"http://{address}:{port}/RPC2", session=one_auth(ctl), timeout=30)


def answering(one):
    """oned answers an API call (not only its port): the version, or None."""
    try:
        return one.system.version()
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        return None


# ------------------------------------------------------------------ pools
def vm_info(one, vm_id):
    vm = one.vm.info(vm_id)
    hist = vm.HISTORY_RECORDS.HISTORY if vm.HISTORY_RECORDS else []
    return {"id": vm.ID, "name": vm.NAME, "state": int(vm.STATE), "lcm": int(vm.LCM_STATE),
            "host": hist[-1].HOSTNAME if hist else None,
            "error": (vm.USER_TEMPLATE.get("ERROR") if isinstance(vm.USER_TEMPLATE, dict) else None)}


def vm_list(one):
    """Every VM not DONE: id -> (state, lcm_state, host)."""
    out = {}
    for vm in one.vmpool.infoextended(-2, -1, -1, -1).VM:
        hist = vm.HISTORY_RECORDS.HISTORY if vm.HISTORY_RECORDS else []
        out[vm.ID] = (int(vm.STATE), int(vm.LCM_STATE), hist[-1].HOSTNAME if hist else None)
    return out


def host_ids(one):
    return {h.NAME: h.ID for h in one.hostpool.info().HOST}


def datastores(one):
    return {d.NAME: (d.ID, int(d.TYPE)) for d in one.datastorepool.info().DATASTORE}


def image_datastore(one):
    """The variant's image datastore the formula registered (not oned's own `default`)."""
    dss = datastores(one)
    mine = sorted(i for n, (i, t) in dss.items() if t == DS_IMAGE and n != "default")
    return mine[0] if mine else dss["default"][0]


# ------------------------------------------------------------------ the guest as images
def _image_by_name(one, name):
    for img in one.imagepool.info(-2, -1, -1).IMAGE or []:
        if img.NAME == name:
            return img
    return None


def _wait_image(one, image_id, timeout=300):
    t0 = time.monotonic()
    while True:
        img = one.image.info(image_id)
        state = int(img.STATE)
        if state == IMAGE_READY:
            return round(time.monotonic() - t0, 1)
        if state == IMAGE_ERROR:
            raise RuntimeError(f"image {img.NAME} ({image_id}) in ERROR: "
                               f"{img.TEMPLATE.get('ERROR') if isinstance(img.TEMPLATE, dict) else img.TEMPLATE}")
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"image {img.NAME} ({image_id}) not READY after {timeout}s (state {state})")
        time.sleep(1)


def files_datastore(one):
    """oned's FILE_DS (`files`), where the guest's kernel and initrd go. Its transfer driver is
    set to the one of the variant's image datastore when it is 7.x's `local` (what 7.4
    bootstraps), whose clone copies nothing for a KERNEL/RAMDISK file: it reads the DISK
    FORMAT of the "disk id" it parses from the destination name `kernel`, finds none, copies
    nothing and succeeds, and the deploy fails "could not open kernel file" (moosefs: shared;
    `files` lives on the shared mount like every datastore under datastores_path)."""
    pool = one.datastorepool.info().DATASTORE
    files = sorted((d for d in pool if int(d.TYPE) == DS_FILE), key=lambda d: d.ID)[0]
    if files.TM_MAD == "local":
        img = next(d for d in pool if d.ID == image_datastore(one))
        if img.TM_MAD != "local":
            one.datastore.update(files.ID, f'TM_MAD = "{img.TM_MAD}"', 1)
    return files.ID


def register_guest(ctl, one, kernel="vmlinux"):
    """The test guest as images (kept when already there): returns
    {"kernel": id, "initrd": id, "disk": id, "template": id, "seconds": {name: s}}."""
    src = ctl.GUEST_MNT
    files_ds = files_datastore(one)
    images = {
        "kernel": (files_ds, {"TYPE": "KERNEL", "PATH": f"{src}/{kernel}"}),
        "initrd": (files_ds, {"TYPE": "RAMDISK", "PATH": f"{src}/initrd.img"}),
        "disk": (image_datastore(one), {"TYPE": "OS", "PATH": f"{src}/disk.raw", "FORMAT": "raw"}),
    }
    out, secs = {}, {}
    for what, (ds, attrs) in images.items():
        name = f"{PREFIX}-{what}"
        img = _image_by_name(one, name)
        if img is None:
            image_id = one.image.allocate({"IMAGE": {"NAME": name, **attrs}}, ds)
        else:
            image_id = img.ID
        secs[name] = _wait_image(one, image_id)
        out[what] = image_id
    tmpl = {
        "NAME": PREFIX, "CPU": "0.1", "VCPU": "1", "MEMORY": "128",
        "OS": {"KERNEL_DS": f"$FILE[IMAGE_ID={out['kernel']}]",
               "INITRD_DS": f"$FILE[IMAGE_ID={out['initrd']}]",
               "KERNEL_CMD": "console=ttyS0 panic=10 quiet"},
        "DISK": {"IMAGE_ID": str(out["disk"])},
        "FEATURES": {"ACPI": "yes"},
    }
    found = [t.ID for t in (one.templatepool.info(-2, -1, -1).VMTEMPLATE or []) if t.NAME == PREFIX]
    out["template"] = found[0] if found else one.template.allocate({"VMTEMPLATE": tmpl})
    out["seconds"] = secs
    return out


def serial_path(name):
    """The guest's console, a file on the hypervisor running it (follows it on migration)."""
    return f"/var/log/libvirt/qemu/{name}.serial"


def instantiate(one, template_id, name):
    """A VM from the template, on hold (the test deploys it where it wants it): its id.
    The serial console goes to serial_path(name) (RAW TYPE must be kvm for the qemu VM_MAD too:
    LibVirtDriverKVM only copies RAW sections of TYPE kvm)."""
    raw = (f"<devices><serial type='file'><source path='{serial_path(name)}' append='on'/>"
           "<target port='0'/></serial></devices>")
    extra = f'RAW = [ TYPE = "kvm", DATA = "{raw}" ]'  # oned's template syntax (no " in raw)
    return one.template.instantiate(template_id, name, True, extra, False)


# ------------------------------------------------------------------ waits
def wait_vm(one, vm_id, want, timeout, what, host=None):
    """Poll the VM until (state, lcm) == want (and on `host` if given); FAILURE/POWEROFF/DONE
    end the wait with the VM's error. Returns (info, seconds)."""
    t0 = time.monotonic()
    info = None
    while time.monotonic() - t0 < timeout:
        try:
            info = vm_info(one, vm_id)
        except Exception:  # noqa: BLE001 - oned moving between front-ends
            time.sleep(0.5)
            continue
        if (info["state"], info["lcm"]) == want and (host is None or info["host"] == host):
            return info, round(time.monotonic() - t0, 1)
        lcm_name = pyone.LCM_STATE(info["lcm"]).name if info["state"] == VM_ACTIVE else ""
        if info["state"] in (VM_POWEROFF, VM_DONE) or "FAILURE" in lcm_name:
            raise AssertionError(f"VM {vm_id} {what}: ended in {pyone.VM_STATE(info['state']).name}/"
                                 f"{lcm_name or '-'} on {info['host']}: {info['error']}")
        time.sleep(0.5)
    raise AssertionError(f"VM {vm_id} not {what} after {timeout}s: {info}")


# ------------------------------------------------------------------ on the hypervisor
def domain(vm_id):
    return f"one-{vm_id}"


def qemu_pid(ctl, topo, host, vm_id):
    """PID of the VM's qemu on `host` (libvirt's pid file, checked alive), or None."""
    p = ctl.ssh(topo, host, shlex.join(["cat", f"/run/libvirt/qemu/{domain(vm_id)}.pid"]), timeout=20)
    pid = p.stdout.strip()
    if p.returncode or not pid.isdigit():
        return None
    return pid if ctl.ssh(topo, host, shlex.join(["kill", "-0", pid]), timeout=20).returncode == 0 else None


def disk_fs(ctl, topo, host, path):
    """(source, fstype) of the filesystem holding `path` on `host`."""
    p = ctl.ssh(topo, host, shlex.join(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", path]), timeout=20)
    parts = p.stdout.split()
    return tuple(parts[:2]) if len(parts) >= 2 else (None, None)


def ticks(ctl, topo, host, name):
    """The guest's tick lines in its serial file on `host`: [(tick, uptime, boots, boot_id)]."""
    p = ctl.ssh(topo, host, shlex.join(["cat", serial_path(name)]), timeout=20)
    return [(int(m[1]), float(m[2]), int(m[3]), m[4]) for m in TICK.finditer(p.stdout)]


def never_restarted(series):
    """A tick series (concatenated over hosts, in order) from one boot: one boot_id, ticks
    strictly increasing by one, uptime never going back. Returns (ok, largest uptime step)."""
    if not series:
        return False, None
    ids = {s[3] for s in series}
    steps = [b[1] - a[1] for a, b in zip(series, series[1:])]
    ok = len(ids) == 1 and all(b[0] == a[0] + 1 for a, b in zip(series, series[1:])) \
        and all(s >= 0 for s in steps)
    return ok, round(max(steps), 2) if steps else 0.0


def migration_downtime_ms(ctl, topo, host, vm_id):
    """libvirt's measured downtime of the last migration, read on the destination
    (`virsh domjobinfo --completed`), or None when libvirt does not say."""
    p = ctl.ssh(topo, host, shlex.join(["virsh", "-c", "qemu:///system", "domjobinfo",
                                        domain(vm_id), "--completed"]), timeout=20)
    m = re.search(r"Total downtime:\s+(\d+)\s*ms", p.stdout)
    return int(m[1]) if m else None


def migrate_live(one, vm_id, host, host_id, timeout=300):
    """`onevm migrate --live` to `host`: seconds from the call until oned shows MIGRATE, and
    until the VM is RUNNING on `host` again (oned sets MIGRATE asynchronously: the first reads
    after the call may still show the old RUNNING)."""
    t0 = time.monotonic()
    one.vm.migrate(vm_id, host_id, True, False, -1, 0)
    seen = None
    while time.monotonic() - t0 < 60:
        if vm_info(one, vm_id)["lcm"] == LCM_MIGRATE:
            seen = round(time.monotonic() - t0, 1)
            break
        time.sleep(0.2)
    if seen is None:
        raise AssertionError(f"VM {vm_id}: oned never showed MIGRATE within 60s of the call")
    _, secs = wait_vm(one, vm_id, (VM_ACTIVE, LCM_RUNNING), timeout, f"RUNNING on {host}", host=host)
    return seen, round(time.monotonic() - t0, 1)
