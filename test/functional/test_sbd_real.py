"""The sbd module and ``sbd.device_present`` through Salt's real loader, driving the real
``sbd``, ``wipefs`` and ``blkid`` on loop devices (sbd refuses a plain file: it opens the
device with O_DIRECT and reads it as a block device).

Data safety, for real: a device holding ext4, an LVM PV, DRBD metadata, unknown bytes or an
SBD header with other timeouts is refused without ``force_create`` and left byte for byte as
it was (sha256 of its first MiBs and of its last MiB before/after); test=True touches nothing;
the flag lets the header be written; a second apply is no change.
"""
import hashlib
import os
import shutil
import subprocess
import uuid

import pytest

from conftest import loaders_at, require_tools

pytestmark = [require_tools("sbd", "losetup", "wipefs", "blkid")]

MIB = 1024 * 1024


def _sh(*argv, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True, check=True, **kw)


@pytest.fixture(scope="module")
def loaders(tmp_path_factory):
    with loaders_at(tmp_path_factory.mktemp("sbd") / "salt") as ld:
        yield ld


@pytest.fixture
def sbd(loaders):
    loaders.context.clear()
    return loaders


@pytest.fixture
def loopdev(tmp_path):
    """A zeroed 16 MiB loop device, detached by its own name at the end."""
    if os.geteuid() != 0:
        pytest.skip("needs root for losetup")
    image = tmp_path / "sbd-{}.img".format(uuid.uuid4().hex[:6])
    _sh("truncate", "-s", "16M", str(image))
    proc = subprocess.run(["losetup", "--find", "--show", str(image)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        pytest.skip("no loop devices: {}".format(proc.stderr.strip()))
    dev = proc.stdout.strip()
    yield dev
    subprocess.run(["losetup", "-d", dev], check=False)


def digest(dev):
    """sha256 of the first 4 MiB and the last MiB (DRBD internal metadata lives there)."""
    size = int(_sh("blockdev", "--getsize64", dev).stdout)
    h = hashlib.sha256()
    with open(dev, "rb") as fh:
        h.update(fh.read(4 * MIB))
        fh.seek(size - MIB)
        h.update(fh.read(MIB))
    return h.hexdigest()


def header(dev):
    out = _sh("sbd", "-d", dev, "dump").stdout
    return {line.split(":")[0].strip(): line.split(":", 1)[1].strip()
            for line in out.splitlines() if ":" in line and not line.startswith("==")}


def test_empty_device_gets_the_header_then_no_change(sbd, loopdev):
    st = sbd.states.sbd
    before = digest(loopdev)
    ret = st.device_present(name=loopdev, watchdog_timeout=5, msgwait_timeout=10, test=True)
    assert ret.result is None, ret.filtered
    assert ret.changes == {"old": None, "new": {"watchdog_timeout": 5, "msgwait_timeout": 10}}
    assert "REFUSED" not in ret.comment
    assert digest(loopdev) == before  # test=True touched nothing
    ret = st.device_present(name=loopdev, watchdog_timeout=5, msgwait_timeout=10)
    assert ret.result is True, ret.filtered
    assert ret.changes == {"old": None, "new": {"watchdog_timeout": 5, "msgwait_timeout": 10}}
    hdr = header(loopdev)
    assert hdr["Timeout (watchdog)"] == "5" and hdr["Timeout (msgwait)"] == "10"
    assert hdr["Number of slots"] == "255"
    # a node allocated a slot: the second apply keeps it (no create, no change)
    _sh("sbd", "-d", loopdev, "allocate", "cloud-cc01")
    after_alloc = digest(loopdev)
    sbd.context.clear()
    ret = st.device_present(name=loopdev, watchdog_timeout="5", msgwait_timeout=10)
    assert ret.result is True and ret.changes == {}, ret.filtered
    assert ret.comment == f"SBD header on {loopdev} is in the desired state"
    assert digest(loopdev) == after_alloc
    assert sbd.modules.sbd.slots(loopdev) == [
        {"slot": 0, "node": "cloud-cc01", "message": "clear", "sender": ""}]
    assert sbd.modules.sbd.dump(loopdev)["watchdog_timeout"] == 5


def _ext4(dev):
    _sh("mkfs.ext4", "-q", "-F", "-L", "sbdtest", dev)


def _pv(dev):
    if not shutil.which("pvcreate"):
        pytest.skip("needs pvcreate")
    _sh("pvcreate", "-q", "-ff", "-y", "--config",
        'devices { use_devicesfile = 0 } global { use_lvmetad = 0 }', dev)


def _drbd_md(dev):
    if not shutil.which("drbdmeta"):
        pytest.skip("needs drbdmeta")
    subprocess.run(["drbdmeta", "--force", "99", "v08", dev, "internal", "create-md"],
                   input="yes\nyes\n", capture_output=True, text=True, check=True,
                   env=dict(os.environ, DRBD_DRIVER_VERSION_OVERRIDE="8.4.11"))


def _other_header(dev):
    _sh("sbd", "-d", dev, "-1", "15", "-4", "30", "create")


def _noise(dev):
    with open(dev, "r+b") as fh:
        fh.seek(MIB // 2)
        fh.write(b"not empty")


@pytest.mark.parametrize("fill, found", [
    (_ext4, "carries ext4 (label=sbdtest"),
    (_pv, "carries LVM2_member"),
    (_drbd_md, "carries drbd"),
    (_other_header, "holds an SBD header (uuid "),
    (_noise, "is not empty (non-zero bytes in its first 1 MiB, no known signature)"),
], ids=["ext4", "lvm-pv", "drbd-metadata", "sbd-other-timeouts", "unknown-bytes"])
def test_device_holding_data_is_refused_untouched_unless_force_create(sbd, loopdev, fill, found):
    fill(loopdev)
    before = digest(loopdev)
    st = sbd.states.sbd
    ret = st.device_present(name=loopdev, watchdog_timeout=5, msgwait_timeout=10, test=True)
    assert ret.result is None and found in ret.comment and "force_create: true" in ret.comment, \
        ret.filtered
    assert digest(loopdev) == before
    sbd.context.clear()
    ret = st.device_present(name=loopdev, watchdog_timeout=5, msgwait_timeout=10)
    assert ret.result is False and ret.changes == {}, ret.filtered
    assert ret.comment.startswith(f"sbd create on {loopdev} REFUSED: ")
    assert found in ret.comment and "Set force_create: true for this device" in ret.comment
    assert digest(loopdev) == before  # untouched
    # the module's own CLI path refuses too
    sbd.context.clear()
    with pytest.raises(Exception, match="REFUSED"):
        sbd.modules.sbd.create(loopdev, 5, 10)
    assert digest(loopdev) == before
    # the per-device flag: wiped and created, then no change
    sbd.context.clear()
    ret = st.device_present(name=loopdev, watchdog_timeout=5, msgwait_timeout=10,
                            force_create=True)
    assert ret.result is True, ret.filtered
    assert ret.changes, ret.filtered
    hdr = header(loopdev)
    assert (hdr["Timeout (watchdog)"], hdr["Timeout (msgwait)"]) == ("5", "10")
    sbd.context.clear()
    assert sbd.modules.sbd.signatures(loopdev) == []  # wipefs --all removed the old ones
    ret = st.device_present(name=loopdev, watchdog_timeout=5, msgwait_timeout=10,
                            force_create=True)
    assert ret.result is True and ret.changes == {}, ret.filtered


def test_other_timeouts_are_diffed_as_numbers(sbd, loopdev):
    _other_header(loopdev)
    ret = sbd.states.sbd.device_present(name=loopdev, watchdog_timeout="15",
                                        msgwait_timeout=31, test=True)
    assert ret.result is None
    assert ret.changes == {"msgwait_timeout": {"old": 30, "new": 31}}, ret.filtered
    sbd.context.clear()
    ret = sbd.states.sbd.device_present(name=loopdev, watchdog_timeout="15", msgwait_timeout=30)
    assert ret.result is True and ret.changes == {}, ret.filtered


def test_missing_device_fails_clearly(sbd, tmp_path):
    ret = sbd.states.sbd.device_present(name=str(tmp_path / "nope"), watchdog_timeout=5,
                                        msgwait_timeout=10)
    assert ret.result is False
    assert ret.comment == f"SBD device {tmp_path / 'nope'} does not exist"


def test_dump_refresh_sees_a_header_another_node_wrote(sbd, loopdev):
    """The other front-ends poll sbd.dump(refresh=True) until the CIB writer's header shows."""
    mod = sbd.modules.sbd
    assert mod.dump(loopdev) is None
    _sh("sbd", "-d", loopdev, "-1", "5", "-4", "10", "create")  # "the other node"
    assert mod.dump(loopdev) is None  # the run cache
    assert mod.dump(loopdev, refresh=True)["msgwait_timeout"] == 10
