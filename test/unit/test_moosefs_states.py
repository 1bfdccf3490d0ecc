"""_states/moosefs.py (``moosefs.metadata_present``) on real directories, with the real
``moosefs.metadata_files`` read: the empty file system is created only in a data dir that
holds no metadata or changelog file at all, never over one."""
import grp
import os
import pwd

import pytest

from conftest import UTILS, load_ext

moosefs_mod = load_ext("modules", "moosefs")
moosefs_state = load_ext("states", "moosefs")

USER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.fixture
def configure_loader_modules():
    return {moosefs_state: {"__salt__": {"moosefs.metadata_files": moosefs_mod.metadata_files},
                            "__opts__": {"test": False}, "__utils__": UTILS}}


@pytest.fixture
def data(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "metadata.mfs.empty").write_bytes(b"MFSM NEW")
    return tmp_path / "data"


def present(data, test=False):
    moosefs_state.__opts__["test"] = test
    try:
        return moosefs_state.metadata_present(str(data), str(data.parent / "metadata.mfs.empty"),
                                              USER, GROUP)
    finally:
        moosefs_state.__opts__["test"] = False


def test_classify_data_dir():
    names = ["metadata.mfs.empty", "metadata.mfs.back", "metadata.mfs.back.1", "changelog.0.mfs",
             "changelog_ml.3.mfs", "metadata_ml.mfs.back", "stats.mfs", "mfsmaster.lock"]
    assert moosefs_mod.classify_data_dir(names) == {
        "metadata": ["metadata.mfs.back"],
        "artifacts": ["changelog.0.mfs", "changelog_ml.3.mfs", "metadata.mfs.back",
                      "metadata.mfs.back.1", "metadata_ml.mfs.back"]}
    assert moosefs_mod.classify_data_dir(["metadata.mfs.empty", "stats.mfs"]) == {
        "metadata": [], "artifacts": []}


def test_created_once_in_an_empty_data_dir(data):
    ret = present(data, test=True)
    assert ret["result"] is None and ret["changes"]["old"] is None
    assert not (data / "metadata.mfs").exists()
    ret = present(data)
    assert ret["result"] is True and ret["changes"]["old"] is None, ret
    meta = data / "metadata.mfs"
    assert meta.read_bytes() == b"MFSM NEW" and meta.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in data.iterdir()) == ["metadata.mfs"]
    ret = present(data)
    assert (ret["result"], ret["changes"]) == (True, {}) and "metadata.mfs" in ret["comment"]


def test_a_running_masters_back_file_is_kept(data):
    (data / "metadata.mfs.back").write_bytes(b"MFSM REAL")
    (data / "changelog.0.mfs").write_text("1: x\n")
    ret = present(data)
    assert (ret["result"], ret["changes"]) == (True, {})
    assert not (data / "metadata.mfs").exists()


@pytest.mark.parametrize("leftover", ["metadata.mfs.back.1", "changelog.0.mfs",
                                      "metadata_ml.mfs.back", "changelog_ml.2.mfs"])
@pytest.mark.parametrize("test", [True, False])
def test_refused_over_backups_or_changelogs(data, leftover, test):
    (data / leftover).write_text("x")
    ret = present(data, test=test)
    assert ret["result"] is False and ret["changes"] == {}
    assert leftover in ret["comment"] and "mfsmaster -a" in ret["comment"]
    assert sorted(p.name for p in data.iterdir()) == [leftover]


def test_a_missing_data_dir_fails_cleanly(tmp_path):
    (tmp_path / "metadata.mfs.empty").write_bytes(b"MFSM NEW")
    ret = present(tmp_path / "nowhere")
    assert ret["result"] is False and "cannot create" in ret["comment"]
    assert present(tmp_path / "nowhere", test=True)["result"] is None
