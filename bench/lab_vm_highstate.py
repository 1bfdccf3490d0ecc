#!/usr/bin/env python3
"""VM-tier lab figures (prints, never asserts): `make lab-vm-bench [VARIANT=drbd_aoe_lvm|nfs]`.

  image build (cached or not), boot to ssh per VM, first / second highstate wall seconds and
  per-VM state seconds (salt-ssh, all VMs in parallel), and for drbd_aoe_lvm: seconds from
  the end of the first highstate to DRBD UpToDate/UpToDate, seconds until Pacemaker runs
  ha_group, and crash failover seconds (kill -9 of the active front-end's qemu until DRBD is
  Primary and ha_group Started on the survivor).
Root only; boots a fresh VM lab and leaves it DOWN (LAB_KEEP=1 keeps it running).
"""
import json
import os
import pathlib
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "lab"))

from labkit import vmlab  # noqa: E402


def main():
    variant = os.environ.get("VARIANT") or "drbd_aoe_lvm"
    lab = vmlab.VMLab(variant)
    figs = {}
    try:
        t0 = time.monotonic()
        lab.up(fresh=True)
        figs["up_s (image check + net + boot to ssh)"] = round(time.monotonic() - t0, 1)
        timings = json.loads(lab.ctl.TIMINGS.read_text())
        figs["boot_to_ssh_s"] = timings.get("boot_s_per_host")
        img = lab.ctl.IMAGE / "timing.json"
        if img.exists():
            figs["image_build_s (last build)"] = json.loads(img.read_text()).get("image_build_s")
        for label in ("first", "second"):
            secs, summ, _ = lab.highstate(label)
            figs[f"{label}_highstate_wall_s"] = secs
            figs[f"{label}_highstate_per_vm_state_s"] = {h: round(s["duration_s"], 1) for h, s in summ.items()}
            figs[f"{label}_highstate_changes"] = {h: len(s["changed"]) for h, s in summ.items()}
            figs[f"{label}_highstate_failed"] = {h: len(s["failed"]) + bool(s["error"]) for h, s in summ.items()}
            if label == "first" and variant == "drbd_aoe_lvm":
                t1 = time.monotonic()
                try:
                    lab.wait_for(lambda: lab.drbd_synced(lab.topo.frontends[0]), 900, interval=1)
                    figs["drbd_synced_after_first_highstate_s"] = round(time.monotonic() - t1, 1)
                except AssertionError as e:
                    figs["drbd_synced_after_first_highstate_s"] = f"not reached: {e}"
        if variant == "drbd_aoe_lvm":
            fes = lab.topo.frontends
            try:
                node, secs = lab.wait_for(lambda: lab.group_node(fes[0]), 300, interval=2)
                figs["ha_group_started_s"] = secs
                survivor = next(f for f in fes if f != node)
                t2 = time.monotonic()
                lab.crash(node)
                t_drbd = t_group = None
                while time.monotonic() - t2 < 300 and (t_drbd is None or t_group is None):
                    st = lab.drbd(survivor)
                    if t_drbd is None and st and all(v and v["role"] == "Primary" for v in st.values()):
                        t_drbd = round(time.monotonic() - t2, 1)
                    if t_group is None and lab.group_node(survivor) == survivor:
                        t_group = round(time.monotonic() - t2, 1)
                    time.sleep(0.5)
                figs["failover_drbd_primary_s"] = t_drbd
                figs["failover_group_started_s"] = t_group
            except AssertionError as e:
                figs["failover"] = f"skipped: {e}"
    finally:
        for k, v in figs.items():
            print(f"{k}: {v}")
        lab.ctl.save_timing(["bench", variant], figs)
        if os.environ.get("LAB_KEEP") != "1":
            lab.down()


if __name__ == "__main__":
    sys.exit(main())
