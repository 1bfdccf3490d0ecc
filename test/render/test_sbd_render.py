"""SBD fencing rendered by the real SLS (`salt-call --local state.show_sls`, pillar.example with
its IPMI fence devices replaced by pacemaker:stonith:sbd): the node side (pacemaker.sbd: package,
watchdog driver, /etc/default/sbd, the header written by the CIB writer only, sbd.service
enabled before corosync starts), the cluster side (pacemaker.resources: a fence_sbd device or
stonith-watchdog-timeout, stonith-enabled, have-watchdog read back) and DRBD's default
fencing; a pillar without SBD renders none of it.

/etc/default/sbd is rendered from the template with the exact context the SLS passes, then
read back by bash (as /etc/init.d/sbd sources it) and by the real `sbd`, which takes
SBD_DEVICE from its environment: `sbd dump` without -d must find the header on a loop device.
"""
import base64
import os
import subprocess
import uuid

import pytest

from conftest import deep_merge, show_sls, template_env, require_tools
from conftest import example_pillar as _example_pillar

pytestmark = pytest.mark.render

DEV = "/dev/disk/by-id/virtio-sbd0"
SBD_IDS = {"pacemaker-sbd-package", "pacemaker-sbd-watchdog-modules-load",
           "pacemaker-sbd-watchdog-module", "pacemaker-sbd-config", "pacemaker-sbd-header-1",
           "pacemaker-sbd-service-enabled", "pacemaker-sbd-restart-needed"}


def example_pillar():
    p = _example_pillar()
    p["secrets"]["corosync_authkey"] = base64.b64encode(bytes(range(200))).decode()
    return p


def sbd_pillar(**sbd):
    """pillar.example with SBD as the only fencing (its IPMI devices removed)."""
    conf = {"enabled": True, "devices": [{"path": DEV}]}
    conf.update(sbd)
    return deep_merge(example_pillar(), {"pacemaker": {"stonith": {"devices": None,
                                                                   "sbd": conf}}})


def three_frontends(p):
    p["cluster"]["frontends"]["cloud-cc03"] = {"san": "192.168.100.13", "lan": "10.10.11.23"}
    p["opennebula"]["db"]["replication"] = "none"
    p["drbd"]["syntax"] = "9"
    return p


def args(high, sid):
    body = high[sid]
    mod = next(k for k in body if not k.startswith("__"))
    out = {k: v for item in body[mod] if isinstance(item, dict) for k, v in item.items()}
    out["__fun__"] = mod + "." + next(v for v in body[mod] if isinstance(v, str))
    return out


def test_sbd_pillar_renders_the_node_side_on_the_cib_writer(salt_call):
    high = show_sls(salt_call, "cloud-cc01", sbd_pillar(), "opennebula.ha")
    assert SBD_IDS <= set(high)
    assert args(high, "pacemaker-sbd-package")["pkgs"] == ["sbd"]
    mods = args(high, "pacemaker-sbd-watchdog-modules-load")
    assert mods["name"] == "/etc/modules-load.d/opennebula-ha-sbd.conf"
    assert mods["contents"].splitlines()[-1] == "softdog"
    kmod = args(high, "pacemaker-sbd-watchdog-module")
    assert (kmod["__fun__"], kmod["name"], kmod["persist"]) == ("kmod.present", "softdog", False)
    hdr = args(high, "pacemaker-sbd-header-1")
    assert hdr["__fun__"] == "sbd.device_present"
    assert (hdr["name"], hdr["watchdog_timeout"], hdr["msgwait_timeout"], hdr["force_create"]) == \
        (DEV, 5, 10, False)
    svc = args(high, "pacemaker-sbd-service-enabled")
    # enabled, never started on its own: corosync's unit starts it (RequiredBy/PartOf)
    assert svc["__fun__"] == "service.enabled" and svc["name"] == "sbd"
    assert not any("sbd" in sid and args(high, sid)["__fun__"] == "service.running"
                   for sid in high)
    assert {"service": "pacemaker-service-corosync-running"} in svc["require_in"]
    assert {"argv": "pacemaker-service-corosync-restart-foreign"} in svc["require_in"]
    assert "pacemaker-sbd-header-1" in svc["require"]
    ctx = args(high, "pacemaker-sbd-config")["context"]
    assert ctx["devices"] == [DEV] and ctx["watchdog_dev"] == "/dev/watchdog"
    assert (ctx["watchdog_timeout"], ctx["startmode"], ctx["delay_start"]) == (5, "always", "no")


def test_force_create_is_passed_per_device(salt_call):
    p = sbd_pillar(devices=[{"path": DEV}, {"path": "/dev/disk/by-id/virtio-sbd1",
                                            "force_create": True}], msgwait_timeout=12)
    high = show_sls(salt_call, "cloud-cc01", p, "pacemaker.sbd")
    assert args(high, "pacemaker-sbd-header-1")["force_create"] is False
    two = args(high, "pacemaker-sbd-header-2")
    assert (two["name"], two["force_create"], two["msgwait_timeout"]) == \
        ("/dev/disk/by-id/virtio-sbd1", True, 12)


def test_other_frontend_waits_for_the_header_and_never_writes_it(salt_call):
    high = show_sls(salt_call, "cloud-cc02", sbd_pillar(), "pacemaker.sbd")
    wait = args(high, "pacemaker-sbd-header-1")
    assert wait["__fun__"] == "loop.until_no_eval"
    assert (wait["name"], wait["args"], wait["kwargs"], wait["expected"]) == \
        ("sbd.dump", [DEV], {"refresh": True}, None)
    assert not any(args(high, sid)["__fun__"] == "sbd.device_present" for sid in high)


def test_graph_has_fence_sbd_before_stonith_enabled_and_reads_have_watchdog(salt_call):
    high = show_sls(salt_call, "cloud-cc01", sbd_pillar(), "pacemaker.resources")
    fence = args(high, "pacemaker-resources-stonith-fence_sbd")
    assert fence["__fun__"] == "crm.stonith_present" and fence["agent"] == "fence_sbd"
    assert fence["params"] == {"devices": DEV, "pcmk_delay_max": "15s"}
    props = args(high, "pacemaker-resources-properties")
    assert props["properties"]["stonith-enabled"] is True
    assert "stonith-watchdog-timeout" not in props["properties"]
    assert props["require"] == ["pacemaker-resources-stonith-fence_sbd"]
    assert not [sid for sid in high if sid.startswith("pacemaker-resources-stonith-fence_cc")]
    hw = args(high, "pacemaker-resources-sbd-have-watchdog")
    assert (hw["name"], hw["args"], hw["expected"]) == ("crm.property_value", ["have-watchdog"],
                                                        "true")
    # read back before anything is staged or written
    assert hw["require"] == ["pacemaker-resources-wait-for-dc"]
    assert args(high, "pacemaker-resources-stage")["require"] == [
        "pacemaker-resources-sbd-have-watchdog"]


def test_two_devices_are_one_fence_sbd_with_both(salt_call):
    p = sbd_pillar(devices=[{"path": DEV}, {"path": "/dev/disk/by-id/virtio-sbd1"}])
    high = show_sls(salt_call, "cloud-cc01", p, "pacemaker.resources")
    assert args(high, "pacemaker-resources-stonith-fence_sbd")["params"]["devices"] == \
        f"{DEV},/dev/disk/by-id/virtio-sbd1"


@pytest.mark.parametrize("swt, expect", [(0, 10), (14, 14)])
def test_watchdog_only_sets_stonith_watchdog_timeout_and_no_device(salt_call, swt, expect):
    p = three_frontends(sbd_pillar(mode="watchdog", devices=[], stonith_watchdog_timeout=swt))
    high = show_sls(salt_call, "cloud-cc01", p, "opennebula.ha")
    props = args(high, "pacemaker-resources-properties")["properties"]
    assert props["stonith-watchdog-timeout"] == expect and props["stonith-enabled"] is True
    assert "pacemaker-resources-stonith-fence_sbd" not in high
    assert not [sid for sid in high if sid.startswith("pacemaker-sbd-header")]
    assert args(high, "pacemaker-sbd-config")["context"]["devices"] == []
    assert "pacemaker-resources-sbd-have-watchdog" in high


def test_a_pillar_without_sbd_renders_none_of_it(salt_call):
    high = show_sls(salt_call, "cloud-cc01", example_pillar(), "opennebula.ha")
    assert not [sid for sid in high if "sbd" in sid], sorted(sid for sid in high if "sbd" in sid)
    assert "stonith-watchdog-timeout" not in args(high, "pacemaker-resources-properties")[
        "properties"]
    # the IPMI devices of pillar.example are there, as before
    assert "pacemaker-resources-stonith-fence_cc01" in high


def test_sbd_and_ipmi_devices_together(salt_call):
    p = deep_merge(example_pillar(), {"pacemaker": {"stonith": {"sbd": {
        "enabled": True, "devices": [{"path": DEV}]}}}})
    high = show_sls(salt_call, "cloud-cc01", p, "pacemaker.resources")
    assert {"pacemaker-resources-stonith-fence_cc01", "pacemaker-resources-stonith-fence_sbd"} \
        <= set(high)


def test_clean_removes_fence_sbd_after_switching_stonith_off(salt_call):
    high = show_sls(salt_call, "cloud-cc01", sbd_pillar(), "pacemaker.resources.clean")
    assert "pacemaker-resources-clean-resource-fence_sbd" in high
    off = args(high, "pacemaker-resources-clean-property-stonith-enabled")
    assert off["value"] is False
    assert args(high, "pacemaker-resources-clean-resource-fence_sbd")["require"] == [
        "pacemaker-resources-clean-property-stonith-enabled"]
    node = show_sls(salt_call, "cloud-cc01", sbd_pillar(), "pacemaker.sbd.clean")
    assert args(node, "pacemaker-sbd-clean-service-disabled")["name"] == "sbd"


# ------------------------------------------------------------------ /etc/default/sbd, read back
def render_default_sbd(**ctx):
    base = dict(devices=[DEV], watchdog_dev="/dev/watchdog",
                watchdog_timeout=5, startmode="always", delay_start="no",
                options={"SBD_TIMEOUT_ACTION": "flush,reboot", "SBD_OPTS": ""})
    base.update(ctx)
    return template_env().get_template("pacemaker/files/default/sbd.jinja").render(**base)


def sourced(text, tmp_path):
    f = tmp_path / "sbd.env"
    f.write_text(text)
    out = subprocess.run(["bash", "-c", 'set -a; . "$1"; env -0', "x", str(f)],
                         capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"})
    return {k: v for k, _, v in (e.partition("=") for e in out.stdout.split("\0") if e)
            if k.startswith("SBD_")}


def test_default_sbd_from_the_sls_context_reads_back(salt_call, tmp_path):
    p = sbd_pillar(devices=[{"path": DEV}, {"path": "/dev/disk/by-path/pci-0000:00:05.0"}],
                   startmode="clean", delay_start=30, watchdog_timeout=7, msgwait_timeout=14)
    high = show_sls(salt_call, "cloud-cc01", p, "pacemaker.sbd")
    ctx = args(high, "pacemaker-sbd-config")["context"]
    env = sourced(render_default_sbd(**ctx), tmp_path)
    assert env == {"SBD_DEVICE": f"{DEV};/dev/disk/by-path/pci-0000:00:05.0",
                   "SBD_PACEMAKER": "yes", "SBD_STARTMODE": "clean", "SBD_DELAY_START": "30",
                   "SBD_WATCHDOG_DEV": "/dev/watchdog", "SBD_WATCHDOG_TIMEOUT": "7",
                   "SBD_TIMEOUT_ACTION": "flush,reboot", "SBD_MOVE_TO_ROOT_CGROUP": "auto",
                   "SBD_SYNC_RESOURCE_STARTUP": "yes", "SBD_OPTS": ""}


def test_watchdog_only_default_sbd_has_no_device(tmp_path):
    env = sourced(render_default_sbd(devices=[]), tmp_path)
    assert "SBD_DEVICE" not in env and env["SBD_PACEMAKER"] == "yes"


@pytest.mark.parametrize("field, value", [
    ("watchdog_dev", "/dev/watch dog"), ("watchdog_dev", "/dev/$(reboot)"),
    ("startmode", 'always"; reboot; "'), ("delay_start", "no`reboot`")])
def test_default_sbd_refuses_what_it_cannot_write(field, value):
    import jinja2
    with pytest.raises(jinja2.exceptions.TemplateError, match="environment file: "):
        render_default_sbd(**{field: value})


@require_tools("sbd", "losetup")
def test_real_sbd_finds_its_device_through_the_rendered_file(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root for losetup")
    image = tmp_path / "sbd-{}.img".format(uuid.uuid4().hex[:6])
    subprocess.run(["truncate", "-s", "8M", str(image)], check=True)
    proc = subprocess.run(["losetup", "--find", "--show", str(image)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        pytest.skip("no loop devices: " + proc.stderr.strip())
    dev = proc.stdout.strip()
    try:
        subprocess.run(["sbd", "-d", dev, "-1", "7", "-4", "14", "create"], capture_output=True,
                       check=True)
        f = tmp_path / "sbd"
        f.write_text(render_default_sbd(devices=[dev]))
        out = subprocess.run(["bash", "-c", 'set -a; . "$1"; exec sbd dump', "x", str(f)],
                             capture_output=True, text=True, env={"PATH": os.environ["PATH"]})
        assert out.returncode == 0, out.stderr
        assert f"==Dumping header on disk {dev}" in out.stdout
        assert "Timeout (msgwait)  : 14" in out.stdout
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)
