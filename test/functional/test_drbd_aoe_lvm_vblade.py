"""The vblade wrapper (AoEtarget `binary=`) installed by the REAL state
storage-drbd_aoe_lvm-vblade-wrapper (`salt-call --local state.sls_id`, TOFS template), then run
with a fake vblade: executable, forwards its arguments unchanged, keeps the PID (exec: the
PID AoEtarget records is vblade's), and sends vblade's output to the log instead of the
closed pipe AoEtarget leaves on stdout (where the real vblade dies of SIGPIPE)."""
import os
import stat
import subprocess

import pytest

from conftest import deep_merge, example_pillar

FAKE_VBLADE = """#!/bin/sh
# fake vblade: record argv and pid, then talk a lot on stdout/stderr like vblade does
printf '%s\\n' "$@" > "{args}"
echo $$ > "{pid}"
i=0
while [ $i -lt 2000 ]; do echo "pid $$: ata_cmd $i"; i=$((i+1)); done
echo "vblade fake done" >&2
"""


@pytest.fixture
def wrapper(salt_call, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "vblade"
    fake.write_text(FAKE_VBLADE.format(args=tmp_path / "args", pid=tmp_path / "pid"))
    fake.chmod(0o755)
    lookup = {"vblade_wrapper": str(tmp_path / "sbin" / "vblade-logged"),
              "vblade_binary": str(fake), "vblade_log": str(tmp_path / "vblade.log")}
    pillar = deep_merge(example_pillar(), {"storage": {"lookup": {"drbd_aoe_lvm": lookup}}})
    salt_call.configure(minion_id="cloud-cc01", pillar=pillar)
    sid = "storage-drbd_aoe_lvm-vblade-wrapper"
    proc, data = salt_call.run("state.sls_id", sid, "storage.drbd_aoe_lvm.target")
    ret = {r["__id__"]: r for r in data["local"].values()}
    assert ret[sid]["result"] is True and ret[sid]["changes"], ret
    proc, data = salt_call.run("state.sls_id", sid, "storage.drbd_aoe_lvm.target")
    assert all(not r["changes"] for r in data["local"].values()), data  # second run: no changes
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    return tmp_path / "sbin" / "vblade-logged", tmp_path, env


def test_wrapper_is_executable_and_forwards_args(wrapper):
    path, tmp, env = wrapper
    mode = path.stat().st_mode
    assert mode & stat.S_IXUSR and stat.S_IMODE(mode) == 0o755
    assert path.read_text().startswith("#!/bin/sh")
    argv = ["0", "1", "bond0", "/dev/drbd/by-res/data-disk"]
    proc = subprocess.Popen([str(path), *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert out == b""  # nothing on the caller's stdout: all of it is in the log
    # -s (O_SYNC) first, then AoEtarget's arguments unchanged
    assert (tmp / "args").read_text().splitlines() == ["-s", *argv]
    assert int((tmp / "pid").read_text()) == proc.pid  # exec: same PID as the wrapper
    log = (tmp / "vblade.log").read_text()
    assert "vblade-logged: starting" in log and "ata_cmd 1999" in log and "vblade fake done" in log


def test_wrapper_survives_closed_stdout_pipe_like_aoetarget(wrapper):
    """AoEtarget: `$binary ... 2>&1 &` with stdout on a pipe nobody reads. The fake vblade
    alone dies of SIGPIPE there; through the wrapper it runs to the end."""
    path, tmp, env = wrapper
    fake = tmp / "bin" / "vblade"

    def run_with_closed_pipe(cmd):
        r, w = os.pipe()
        os.close(r)  # reader gone before the child writes
        proc = subprocess.Popen(cmd, env=env, stdout=w, stderr=w)
        os.close(w)
        return proc.wait(timeout=30)

    assert run_with_closed_pipe([str(fake), "0", "0", "eth0", "/dev/null"]) == -13  # SIGPIPE
    assert run_with_closed_pipe([str(path), "0", "0", "eth0", "/dev/null"]) == 0
    assert "ata_cmd 1999" in (tmp / "vblade.log").read_text()
