"""storage.drbd_aoe_lvm.lvm applied for real (`salt-call --local state.apply`) to a COPY of
/etc/lvm/lvm.conf in tmp (pillar storage:lookup:lvm:conf), then read back by the real LVM
parser: `LVM_SYSTEM_DIR=<tmp> lvmconfig devices/filter devices/write_cache_state`
(lvmconfig's --file is its OUTPUT file; LVM_SYSTEM_DIR is how LVM reads another lvm.conf).
The initramfs command is pointed at a marker file so its onchanges can be observed."""
import os
import pathlib
import shutil
import subprocess

import pytest

from conftest import deep_merge, example_pillar, require_tools

pytestmark = [pytest.mark.realtool, require_tools("lvmconfig")]

GUIDE_LVM = {"filter": '["a|drbd.*|","r|.*|"]', "write_cache_state": "0"}
SYSTEM_LVM_CONF = pathlib.Path("/etc/lvm/lvm.conf")


def lvmconfig(lvm_dir):
    env = dict(os.environ, LVM_SYSTEM_DIR=str(lvm_dir), LVM_SUPPRESS_FD_WARNINGS="1")
    proc = subprocess.run(["lvmconfig", "devices/filter", "devices/write_cache_state"],
                          capture_output=True, text=True, env=env, timeout=30, check=False)
    values = dict(line.strip().split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    return proc, values


@pytest.fixture
def lvm_dir(tmp_path):
    d = tmp_path / "lvm"
    (d / "cache").mkdir(parents=True)
    if SYSTEM_LVM_CONF.exists():
        shutil.copy(SYSTEM_LVM_CONF, d / "lvm.conf")
    else:  # minimal stand-in
        (d / "lvm.conf").write_text("config {\n}\ndevices {\n\tdir = \"/dev\"\n}\n")
    (d / "cache" / ".cache").write_text("persistent_filter_cache {}\n")
    return d


def configure(salt_call, tmp_path, lvm_dir):
    marker = tmp_path / "initramfs-updated"
    pillar = deep_merge(example_pillar(), {"storage": {"lookup": {
        "lvm": {"conf": str(lvm_dir / "lvm.conf")},
        "drbd_aoe_lvm": {"lvm_cache": str(lvm_dir / "cache" / ".cache"),
                         "update_initramfs": f"touch {marker}"},
    }}})
    salt_call.configure(minion_id="cloud-cc01", pillar=pillar)
    return marker


def apply(salt_call):
    proc, data = salt_call.run("state.apply", "storage.drbd_aoe_lvm.lvm")
    ret = {r["__id__"]: r for r in data["local"].values()}
    assert all(r["result"] is True for r in ret.values()), ret
    return ret


def test_seed_filter_and_cache_state_applied_idempotent(salt_call, tmp_path, lvm_dir):
    marker = configure(salt_call, tmp_path, lvm_dir)
    proc, before = lvmconfig(lvm_dir)
    assert before != GUIDE_LVM
    first = apply(salt_call)
    assert first["storage-drbd_aoe_lvm-lvm-conf-devices"]["changes"]
    assert first["storage-drbd_aoe_lvm-lvm-cache-removed"]["changes"]
    assert not (lvm_dir / "cache" / ".cache").exists()
    assert marker.exists(), "initramfs not rebuilt after lvm.conf changed"
    proc, values = lvmconfig(lvm_dir)
    assert proc.returncode == 0, proc.stderr
    assert values == GUIDE_LVM
    assert "duplicate" not in proc.stderr.lower()
    text = (lvm_dir / "lvm.conf").read_text()
    # only the keys are managed: the rest of the distro file is untouched
    assert len(text.splitlines()) == len(SYSTEM_LVM_CONF.read_text().splitlines()) + 4 or not SYSTEM_LVM_CONF.exists()
    # second run: zero changes, no initramfs rebuild
    marker.unlink()
    second = apply(salt_call)
    assert all(not r["changes"] for r in second.values()), second
    assert not marker.exists()
    assert lvmconfig(lvm_dir)[1] == GUIDE_LVM


def test_conflicting_active_lines_are_commented_out(salt_call, tmp_path, lvm_dir):
    conf = lvm_dir / "lvm.conf"
    text = conf.read_text().replace(
        "devices {", 'devices {\n\tfilter = [ "a|.*|" ]\n\twrite_cache_state = 1', 1)
    text += '\ndevices {\n    filter = [ "a|sd.*|", "r|.*|" ]\n}\n'
    conf.write_text(text)
    assert lvmconfig(lvm_dir)[1] != GUIDE_LVM
    configure(salt_call, tmp_path, lvm_dir)
    apply(salt_call)
    proc, values = lvmconfig(lvm_dir)
    assert values == GUIDE_LVM, proc.stderr
    assert "duplicate" not in proc.stderr.lower()
    new = conf.read_text()
    assert '# filter = [ "a|sd.*|", "r|.*|" ]' in new and "# write_cache_state = 1" in new
    second = apply(salt_call)
    assert all(not r["changes"] for r in second.values()), second


def test_custom_filter_from_pillar(salt_call, tmp_path, lvm_dir):
    configure(salt_call, tmp_path, lvm_dir)
    pillar_file = salt_call.root_dir / "pillar" / "data.sls"
    import yaml
    pillar = yaml.safe_load(pillar_file.read_text())
    pillar["storage"]["drbd_aoe_lvm"]["lvm_filter"] = ["a|drbd.*|", "a|/dev/md0|", "r|.*|"]
    pillar_file.write_text(yaml.safe_dump(pillar))
    apply(salt_call)
    assert lvmconfig(lvm_dir)[1]["filter"] == '["a|drbd.*|","a|/dev/md0|","r|.*|"]'
