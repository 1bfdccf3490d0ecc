"""_utils/ohaf_sbd.py fed by captured output of the real sbd 1.5.2, wipefs and blkid
(test/fixtures/sbd/README.md says how each was made), and _modules/sbd.py with Salt's dunders
mocked and every command answered from those captures."""
import pathlib

import pytest
from salt.exceptions import CommandExecutionError

from conftest import UTILS, load_ext

FIX = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "sbd"
u = {k.split(".", 1)[1]: v for k, v in UTILS.items() if k.startswith("ohaf_sbd.")}
sbd = load_ext("modules", "sbd")
DEV = "/dev/disk/by-id/virtio-sbd0"


def fx(name):
    return (FIX / name).read_text()


# ------------------------------------------------------------------------------ parsers
def test_parse_dump_of_a_real_header_gives_integer_timeouts():
    hdr = u["parse_dump"](fx("dump-w5-m10.txt"), 0)
    assert hdr == {"version": "2.1", "uuid": "7b0701b3-7b6f-4160-ada9-73db24e6587c",
                   "slots": 255, "sector_size": 512, "watchdog_timeout": 5,
                   "allocate_timeout": 2, "loop_timeout": 1, "msgwait_timeout": 10}
    assert u["parse_dump"](fx("dump-w15-m30.txt"), 0)["msgwait_timeout"] == 30


def test_parse_dump_of_a_blank_device_is_none():
    assert u["parse_dump"](fx("dump-blank.stdout"), 1) is None
    # the same text with rc 0 still lacks a header
    assert u["parse_dump"](fx("dump-blank.stdout"), 0) is None


def test_parse_dump_refuses_a_non_numeric_timeout():
    text = fx("dump-w5-m10.txt").replace("Timeout (msgwait)  : 10", "Timeout (msgwait)  : ten")
    with pytest.raises(ValueError, match="Timeout \\(msgwait\\) is not a number: 'ten'"):
        u["parse_dump"](text, 0)


def test_parse_list_slots_and_messages():
    assert u["parse_list"](fx("list-two-nodes.txt")) == [
        {"slot": 0, "node": "node1", "message": "clear", "sender": ""},
        {"slot": 1, "node": "node2", "message": "test", "sender": "vm"}]
    assert u["parse_list"](fx("list-empty.txt")) == []
    with pytest.raises(ValueError):
        u["parse_list"]("garbage line\n")


@pytest.mark.parametrize("name, types", [
    ("wipefs-blank.json", []), ("wipefs-ext4.json", ["ext4"]),
    ("wipefs-lvm2.json", ["LVM2_member"]), ("wipefs-drbd.json", ["drbd"])])
def test_parse_wipefs(name, types):
    assert [s["type"] for s in u["parse_wipefs"](fx(name))] == types


def test_parse_blkid_and_dedupe_with_wipefs():
    bk = u["parse_blkid"](fx("blkid-ext4.txt"), 0)
    assert bk[0]["type"] == "ext4"
    assert u["parse_blkid"]("", 2) == []
    assert u["parse_blkid"]("", 8) == [{"type": "ambivalent"}]
    both = u["dedupe_signatures"](u["parse_wipefs"](fx("wipefs-ext4.json")), bk)
    assert [s["type"] for s in both] == ["ext4"]


# ------------------------------------------------------------------------ decisions
def test_header_diff_compares_numbers():
    hdr = u["parse_dump"](fx("dump-w5-m10.txt"), 0)
    assert u["header_diff"](hdr, "5", 10) == {}
    assert u["header_diff"](hdr, 5, 12) == {"msgwait_timeout": {"old": 10, "new": 12}}
    assert u["header_diff"](None, 5, 10) == {
        "old": None, "new": {"watchdog_timeout": 5, "msgwait_timeout": 10}}


def test_create_problems_empty_only():
    f = u["create_problems"]
    assert f(DEV, None, [], True, False) == []
    assert f(DEV, None, [], False, False) == [
        f"{DEV} is not empty (non-zero bytes in its first 1 MiB, no known signature)"]
    ext4 = u["parse_wipefs"](fx("wipefs-ext4.json"))
    assert f(DEV, None, ext4, False, False) == [
        f"{DEV} carries ext4 (uuid=a5a4f130-79d8-432d-9f57-4fd14dcaf88b, offset=0x438)"]
    drbd = u["parse_wipefs"](fx("wipefs-drbd.json"))
    assert f(DEV, None, drbd, True, False) == [f"{DEV} carries drbd (offset=0xfff03c)"]
    hdr = u["parse_dump"](fx("dump-w15-m30.txt"), 0)
    assert f(DEV, hdr, [], False, False, 5, 10) == [
        f"{DEV} holds an SBD header (uuid 16b6d4ba-8d07-4aa5-a12b-c9cdbbedbd05) with watchdog "
        "timeout 15 and msgwait timeout 30 (wanted: 5 and 10)"]
    # the flag allows anything
    assert f(DEV, hdr, ext4, False, True) == []


def test_refusal_names_the_flag():
    text = u["refusal"](DEV, ["x carries ext4"])
    assert text.startswith(f"sbd create on {DEV} REFUSED: x carries ext4;")
    assert "Set force_create: true for this device (pacemaker:stonith:sbd:devices)" in text


# ------------------------------------------------------------------------ the module
class Host:
    """Answers sbd/wipefs/blkid from the captures; records every command."""

    def __init__(self, dump="dump-blank.stdout", dump_rc=1, wipefs="wipefs-blank.json",
                 blkid=("", 2)):
        self.dump, self.dump_rc, self.wipefs, self.blkid = dump, dump_rc, wipefs, blkid
        self.calls = []

    def run_all(self, argv, **kw):
        assert kw.get("python_shell") is False
        self.calls.append(argv)
        if argv[0] == "sbd" and argv[-1] == "dump":
            return {"retcode": self.dump_rc, "stdout": fx(self.dump), "stderr": ""}
        if argv[0] == "wipefs" and "--no-act" in argv:
            return {"retcode": 0, "stdout": fx(self.wipefs), "stderr": ""}
        if argv[0] == "blkid":
            return {"retcode": self.blkid[1], "stdout": self.blkid[0], "stderr": ""}
        return {"retcode": 0, "stdout": "", "stderr": ""}

    def writes(self):
        return [c for c in self.calls if c[-1] == "create" or "--all" in c]


@pytest.fixture
def host():
    return Host()


@pytest.fixture
def configure_loader_modules(host):
    return {sbd: {"__salt__": {"cmd.run_all": host.run_all}, "__context__": {},
                  "__opts__": {"test": False}, "__utils__": UTILS}}


@pytest.fixture(autouse=True)
def _device(monkeypatch):
    monkeypatch.setattr(sbd.os.path, "exists", lambda p: p == DEV)
    monkeypatch.setattr(sbd, "_read_head", lambda dev, size: bytes(size))


def test_module_creates_on_an_empty_device_with_an_argument_list(host):
    assert sbd.create(DEV, "5", 10) is True
    assert host.writes() == [["sbd", "-d", DEV, "-1", "5", "-4", "10", "create"]]


def test_module_refuses_an_ext4_device_and_writes_nothing(host):
    host.wipefs = "wipefs-ext4.json"
    with pytest.raises(CommandExecutionError, match=f"sbd create on {DEV} REFUSED: {DEV} "
                                                    "carries ext4"):
        sbd.create(DEV, 5, 10)
    assert host.writes() == []


def test_module_force_create_wipes_then_creates(host):
    host.wipefs = "wipefs-lvm2.json"
    sbd.create(DEV, 5, 10, force_create=True)
    assert host.writes() == [["wipefs", "--all", DEV],
                             ["sbd", "-d", DEV, "-1", "5", "-4", "10", "create"]]


def test_module_refuses_over_any_existing_header(host):
    host.dump, host.dump_rc = "dump-w5-m10.txt", 0
    with pytest.raises(CommandExecutionError, match="holds an SBD header"):
        sbd.create(DEV, 5, 10)
    assert host.writes() == []


def test_module_dump_is_read_once_per_run_until_a_write(host):
    sbd.dump(DEV)
    sbd.dump(DEV)
    assert sum(1 for c in host.calls if c[-1] == "dump") == 1
    sbd.create(DEV, 5, 10)
    sbd.dump(DEV)
    assert sum(1 for c in host.calls if c[-1] == "dump") == 2  # create reused it; the write dropped it


def test_module_missing_device(host):
    with pytest.raises(CommandExecutionError, match="SBD device /dev/nope does not exist"):
        sbd.dump("/dev/nope")
    assert host.calls == []
