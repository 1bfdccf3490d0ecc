"""Lab end-to-end fixtures (container tier): `make lab-test` (LAB=1, root).

The fast `make test` collects test/lab/ but every test skips unless LAB=1: these boot
systemd-nspawn hosts, a bridge and an nft table, and apply the whole formula (minutes).
The lab's package lab/labkit does the work (pytest.ini puts lab/ on sys.path).
"""
import os
import time

import pytest
from labkit import checks, containers, vmlab

LAB_ON = os.environ.get("LAB") == "1"
# the container tier's variant `make lab-test [VARIANT=raft]` runs (labkit.containers.VARIANTS)
CONTAINER_VARIANT = os.environ.get("VARIANT") or "moosefs"
FIGURES = []  # (label, value) printed in the terminal summary


def pytest_configure(config):
    config.addinivalue_line("markers", "lab: end-to-end against the container lab (LAB=1, make lab-test)")


def pytest_terminal_summary(terminalreporter):
    if FIGURES:
        terminalreporter.section("lab figures")
        for label, value in FIGURES:
            terminalreporter.write_line(f"{label}: {value}")


def figure(label, value):
    FIGURES.append((label, value))
    print(f"{label}: {value}")


def wait_for(fn, timeout, interval=0.5, what="condition"):
    """Poll fn() until it returns a truthy value; returns (value, seconds)."""
    return checks.wait_for(fn, timeout, interval, what)


class Lab:
    """The running lab: topology, ssh, highstates, last results per method."""

    figure = staticmethod(figure)
    wait_for = staticmethod(wait_for)

    def __init__(self, variant=None):
        self.ctl = containers
        self.check = checks
        self.variant = variant or CONTAINER_VARIANT
        self.topo = self.ctl.Topo(self.variant)
        self.results = {}  # label -> (secs, summary, raw)

    def up(self, method, fresh=False):
        if fresh:
            containers.down(purge=True)
        containers.up(method=method, no_apply=True, variant=self.variant)
        self.topo = self.ctl.Topo(self.variant)

    def highstate(self, method, label):
        secs, summ, raw = self.ctl.highstate(self.topo, method, label=f"{label} ({method})")
        self.results[label] = (secs, summ, raw)
        self.ctl.print_summary(f"{label} ({method})", secs, summ)
        return secs, summ, raw

    def ssh(self, host, cmd, timeout=60, check=False):
        return self.ctl.ssh(self.topo, host, cmd, timeout=timeout, check=check)

    def crm_status(self, host):
        return self.check.crm_status(self.ctl, self.topo, host)

    def sls_ids(self, sls):
        """State ids of an SLS in the highstates run so far, placeholders left out."""
        return self.check.sls_ids(self.results, sls)

    def require_states(self, *slss):
        """Skip (precise reason) while a formula SLS is still a placeholder / absent."""
        missing = [s for s in slss if not self.sls_ids(s)]
        if missing:
            pytest.skip(f"formula states not written yet: {', '.join(missing)} "
                        "(only '-placeholder' states or none in the highstate)")


@pytest.fixture(scope="session")
def lab():
    if not LAB_ON:
        pytest.skip("lab e2e: run `make lab-test` (LAB=1, root)")
    if os.geteuid() != 0:
        pytest.skip("lab e2e needs root")
    lab = Lab()
    running = [h for h in lab.topo.hosts if lab.ctl.host_pid(h)]
    if running and lab.ctl.current_variant() != lab.variant:
        containers.down(purge=False)  # another variant's lab: up() purges its hosts' state
    if running:
        print(f"\nlab-test: {', '.join(running)} were up: purged for a lab from scratch", flush=True)
    yield lab
    if os.environ.get("LAB_KEEP") != "1":
        containers.down(purge=False)
        FIGURES.append(("lab state at the end", "down (the tested hosts' state is kept: `make lab` "
                        "boots them again, `make lab-down PURGE=1` drops it)"))
    else:
        FIGURES.append(("lab state at the end", "up (LAB_KEEP=1): `make lab-down` stops it"))


# ------------------------------------------------------------------ VM tier (test_vm_*.py)
# Each test_vm_<variant>.py sets VARIANT, ON and STATE; the fixture and the highstate steps
# every variant shares live here. Steps run top to bottom on one lab: STATE carries what a
# passed step established, later steps skip (with the reason) when it is missing.
def vm_marks(variant):
    """pytestmark of test_vm_<variant>.py: slow, skipped unless LAB=1 and VARIANT=<variant>."""
    on = LAB_ON and os.environ.get("VARIANT") == variant
    return [pytest.mark.slow,
            pytest.mark.skipif(not on, reason=f"VM lab e2e: run `make lab-vm-test VARIANT={variant}` (LAB=1, root)")]


def assert_highstate_ok(summ):
    bad = {h: (s["error"] or s["failed"] or "no states")
           for h, s in summ.items() if s["error"] or s["failed"] or not s["states"]}
    assert not bad, f"highstate failed: {bad}"


def need(state, *keys):
    missing = [k for k in keys if k not in state]
    if missing:
        pytest.skip(f"an earlier step did not pass ({', '.join(missing)})")


@pytest.fixture(scope="module")
def vm(request):
    """The module's VM lab (labkit.vmlab.VMLab); down at the end unless LAB_KEEP=1.
    vm.fig(label, value): a figure in .lab/vm/timings.json and the terminal summary."""
    if os.geteuid() != 0:
        pytest.skip("VM lab needs root")
    variant = request.module.VARIANT
    lab = vmlab.VMLab(variant)

    def fig(label, value):
        lab.figure(label, value)
        FIGURES.append((f"[vm {variant}] {label}", value))

    lab.fig = fig
    running = lab.ctl.running_hosts()
    if running:
        print(f"\nlab-test: VMs {', '.join(running)} were up: rebuilt from fresh disks", flush=True)
    yield lab
    if os.environ.get("LAB_KEEP") != "1":
        lab.down()
        FIGURES.append((f"[vm {variant}] lab state at the end", "down (`make lab VARIANT="
                        f"{variant}` boots it again)"))
    else:
        FIGURES.append((f"[vm {variant}] lab state at the end", "up (LAB_KEEP=1)"))


def vm_first_highstate(vm, state):
    """Fresh VMs (or the running lab with LAB_VM_REUSE=1), then one highstate that must not fail."""
    t0 = time.monotonic()
    reuse = os.environ.get("LAB_VM_REUSE") == "1"
    vm.up(fresh=not reuse)
    vm.fig("VMs up" + (" (reused)" if reuse else " (image built or cached, fresh overlays)"),
           f"{round(time.monotonic() - t0, 1)}s")
    if reuse:
        state["first"] = True  # LAB_VM_REUSE=1: the running lab had its first highstate already
        pytest.skip("LAB_VM_REUSE=1: first highstate not repeated on the running lab")
    secs, summ, _ = vm.highstate("first")
    state["first"] = True  # the later checks run whatever this run's result
    vm.fig("first highstate", f"{secs}s wall; per host: "
           f"{ {h: (s['states'], round(s['duration_s'], 1)) for h, s in summ.items()} } (states, state s)")
    assert_highstate_ok(summ)


def vm_highstate_zero_changes(vm, state, label):
    """One more highstate on every VM: nothing fails, nothing changes."""
    need(state, "first")
    secs, summ, _ = vm.highstate(label)
    counts = {h: len(s["changed"]) for h, s in summ.items()}
    vm.fig(f"{label} highstate", f"{secs}s wall; changes per host {counts}; per host state s "
           f"{ {h: round(s['duration_s'], 1) for h, s in summ.items()} }")
    assert_highstate_ok(summ)
    changed = {h: s["changed"] for h, s in summ.items() if s["changed"]}
    assert not changed, f"not idempotent, states with changes: {changed}"
