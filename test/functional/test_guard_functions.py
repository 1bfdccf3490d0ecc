"""The functions the SLS guards call instead of shell strings, and the argv state, each
against the real tool through Salt's real loader (``loaders_at``):

  * one.db_*           a real MariaDB server (mariadbd on a private socket + 127.0.0.1 port,
                       started here, stopped by PID): database/user/grant checks, the replica
                       check, the peer wait (bounded) and CHANGE MASTER TO with a password
                       full of quotes/backslashes that never shows in return values
  * one.zone_*         the loopback oned double over pyone (one.zone.info)
  * dpkg_divert.*      the real dpkg-divert on a private --admindir
  * corosync.*         the real corosync-cmapctl (no corosync runs here: "not a member")
  * moosefs.*          the real mfsgetgoal on a non-MooseFS path
  * drbd.role_is_primary / readable  the real drbdadm (no such resource) and real files
  * argv.run           real commands: no shell (metacharacters stay literal), test mode,
                       hidden output, guards by function requisite through state.single
"""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import load_double, loaders_at, require_tools

oned_double = load_double("oned_double")

REPL_PW = "q'uo\"te\\back$(touch /tmp/zqcanary-pwned);`x`"


@pytest.fixture(scope="module")
def loaders(tmp_path_factory):
    with loaders_at(tmp_path_factory.mktemp("salt")) as ldr:
        yield ldr


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def mariadb():
    """A private MariaDB server: unix socket (root by socket auth) + 127.0.0.1:<port>,
    binlog on; stopped by its PID."""
    if shutil.which("mariadbd") is None and not os.path.exists("/usr/sbin/mariadbd"):
        if os.environ.get("CI"):
            pytest.fail("CI must install mariadb-server")
        pytest.skip("needs mariadb-server")
    if os.geteuid() != 0:
        pytest.skip("needs root (socket authentication as root)")
    base = pathlib.Path(tempfile.mkdtemp(prefix="zqdb"))
    data, sock, port = base / "data", base / "s.sock", _free_port()
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                    "--auth-root-authentication-method=socket", "--skip-test-db"],
                   check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen(["/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}",
                             f"--socket={sock}", f"--port={port}", "--bind-address=127.0.0.1",
                             "--user=root", f"--log-bin={data}/bin", "--server-id=7",
                             f"--log-error={base}/err.log", f"--pid-file={base}/pid"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if sock.exists():
                ok = subprocess.run(["mysql", "--protocol=socket", f"--socket={sock}",
                                     "--user=root", "-e", "SELECT 1"], capture_output=True)
                if ok.returncode == 0:
                    break
            if proc.poll() is not None:
                raise AssertionError((base / "err.log").read_text()[-2000:])
            time.sleep(0.1)
        else:
            raise AssertionError("mariadbd did not answer")
        yield {"socket": str(sock), "port": port, "proc": proc}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _root_sql(db, sql):
    return subprocess.run(["mysql", "--protocol=socket", f"--socket={db['socket']}",
                           "--user=root", "-NBe", sql], capture_output=True, text=True,
                          check=True).stdout


# ------------------------------------------------------------------------- one.db_*
def test_db_checks_against_a_real_server(loaders, mariadb):
    one = loaders.modules.one
    sock = mariadb["socket"]
    assert one.db_exists("zq_one", socket=sock) is False
    _root_sql(mariadb, "CREATE DATABASE zq_one; CREATE DATABASE zqXone")
    assert one.db_exists("zq_one", socket=sock) is True
    # exact name, not a LIKE pattern (`_` would match any character)
    _root_sql(mariadb, "DROP DATABASE zq_one")
    assert one.db_exists("zq_one", socket=sock) is False
    _root_sql(mariadb, "CREATE DATABASE zq_one")

    pw = "pa'ss\\word"
    assert one.db_user_granted("zquser", pw, "zq_one", socket=sock) is False
    _root_sql(mariadb, "CREATE USER 'zquser'@'localhost' IDENTIFIED BY 'pa\\'ss\\\\word'")
    assert one.db_user_granted("zquser", pw, "zq_one", socket=sock) is False  # no grant
    _root_sql(mariadb, "GRANT ALL PRIVILEGES ON `zq_one`.* TO 'zquser'@'localhost'")
    assert one.db_user_granted("zquser", pw, "zq_one", socket=sock) is True
    assert one.db_user_granted("zquser", "rotated", "zq_one", socket=sock) is False

    assert one.db_user_exists("zq'repl", "127.0.0.1", socket=sock) is False
    _root_sql(mariadb, "CREATE USER 'zq\\'repl'@'127.0.0.1' IDENTIFIED BY 'x'")
    assert one.db_user_exists("zq'repl", "127.0.0.1", socket=sock) is True
    assert one.db_user_exists("zq'repl", "127.0.0.2", socket=sock) is False


def test_db_replication_wait_and_start_against_a_real_server(loaders, mariadb):
    one = loaders.modules.one
    sock, port = mariadb["socket"], mariadb["port"]
    esc = REPL_PW.replace("\\", "\\\\").replace("'", "\\'")
    _root_sql(mariadb, f"CREATE USER 'zqrepl'@'127.0.0.1' IDENTIFIED BY '{esc}'; "
                       "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'zqrepl'@'127.0.0.1'")
    assert one.db_replica_configured(socket=sock) is False
    # wrong password: the peer never answers -> False once the (short) wait is over
    assert one.db_replication_pending("127.0.0.1", "zqrepl", "wrong", wait=1, interval=0.5,
                                      socket=sock, port=port) is False
    assert one.db_replication_pending("127.0.0.1", "zqrepl", REPL_PW, wait=5, socket=sock,
                                      port=port) is True
    # the "peer" is this very server: CHANGE MASTER TO it works the same way
    ret = one.db_replication_start("127.0.0.1", "zqrepl", REPL_PW, socket=sock, port=port)
    assert set(ret) == {"master_host", "master_log_file", "master_log_pos"}
    assert ret["master_host"] == "127.0.0.1" and ret["master_log_file"].startswith("bin.")
    assert REPL_PW not in str(ret)
    assert not os.path.exists("/tmp/zqcanary-pwned")
    status = _root_sql(mariadb, "SHOW SLAVE STATUS")
    assert "zqrepl" in status and "127.0.0.1" in status
    assert one.db_replica_configured(socket=sock) is True
    # configured: pending is False at once (no wait for the peer)
    assert one.db_replication_pending("127.0.0.1", "zqrepl", "wrong", wait=600, socket=sock,
                                      port=port) is False
    _root_sql(mariadb, "STOP SLAVE; RESET SLAVE ALL")


def test_db_replication_start_error_hides_the_password(loaders, mariadb):
    one = loaders.modules.one
    from salt.exceptions import CommandExecutionError
    with pytest.raises(CommandExecutionError) as exc:
        one.db_replication_start("127.0.0.1", "nobody", REPL_PW, socket=mariadb["socket"],
                                 port=mariadb["port"])
    assert REPL_PW not in str(exc.value) and "does not answer" in str(exc.value)


# ------------------------------------------------------------------------- one.zone_*
def test_zone_server_listed_through_pyone():
    from conftest import load_ext
    one = load_ext("modules", "one")
    with oned_double.OnedDouble(password="zq-secret") as double:
        conn = {"endpoint": double.endpoint, "username": "oneadmin", "password": "zq-secret"}
        one.__salt__ = {}
        one.__context__ = {}
        assert one.zone_servers(0, **conn) == []
        assert one.zone_server_listed(0, "cloud-cc01", **conn) is False
        double.zone_servers = [(0, "cloud-cc01", "http://192.168.100.11:2633/RPC2"),
                               (1, "zq canary's", "http://192.168.100.12:2633/RPC2")]
        assert one.zone_servers(0, **conn) == [
            {"id": 0, "name": "cloud-cc01", "endpoint": "http://192.168.100.11:2633/RPC2"},
            {"id": 1, "name": "zq canary's", "endpoint": "http://192.168.100.12:2633/RPC2"}]
        assert one.zone_server_listed(0, "cloud-cc01", **conn) is True
        assert one.zone_server_listed(0, "zq canary's", **conn) is True
        assert one.zone_server_listed(0, "cloud-cc0", **conn) is False
        from salt.exceptions import CommandExecutionError
        with pytest.raises(CommandExecutionError, match="zone"):
            one.zone_servers(5, **conn)


# ------------------------------------------------------------------------- dpkg_divert
@require_tools("dpkg-divert")
def test_dpkg_divert_listpackage_real(loaders, tmp_path):
    dd = loaders.modules.dpkg_divert
    admin = tmp_path / "admin"
    admin.mkdir()
    (admin / "diversions").write_text("")
    target = "/usr/share/initramfs-tools/hooks/zqcanary hook"
    assert dd.listpackage(target, admindir=str(admin)) is None
    assert dd.is_local(target, admindir=str(admin)) is False
    subprocess.run(["dpkg-divert", f"--admindir={admin}", "--local", "--no-rename",
                    "--divert", "/usr/share/initramfs-tools/zq-disabled", "--add", target],
                   check=True, capture_output=True)
    assert dd.listpackage(target, admindir=str(admin)) == "LOCAL"
    assert dd.is_local(target, admindir=str(admin)) is True


# ------------------------------------------------------------------------- corosync
@require_tools("corosync-cmapctl")
def test_corosync_not_running_is_no_member(loaders):
    if subprocess.run(["corosync-cmapctl", "-g", "totem.cluster_name"],
                      capture_output=True).returncode == 0:
        pytest.skip("a corosync runs on this host")
    assert loaders.modules.corosync.cluster_name() is None
    assert loaders.modules.corosync.is_member("one-ha") is False


# ------------------------------------------------------------------------- moosefs
@require_tools("mfsgetgoal")
def test_moosefs_goal_of_a_non_moosefs_path(loaders, tmp_path):
    # the real tool answers "<path>: not MFS object" (rc 1)
    assert loaders.modules.moosefs.goal(str(tmp_path)) is None
    assert loaders.modules.moosefs.has_goal(str(tmp_path), 2) is False


# ------------------------------------------------------------------------- drbd guards
@require_tools("drbdadm")
def test_drbd_role_and_readable_real(loaders, tmp_path):
    drbd = loaders.modules.drbd
    conf = tmp_path / "drbd.conf"
    conf.write_text("")
    assert drbd.role_is_primary("zqcanary-res", config=str(conf)) is False
    dev = tmp_path / "dev"
    dev.write_bytes(b"\0" * 8192)
    assert drbd.readable(str(dev)) is True
    assert drbd.readable(str(tmp_path / "missing")) is False


# ------------------------------------------------------------------------- argv.run
def test_argv_run_never_uses_a_shell(loaders, tmp_path):
    out = tmp_path / "o"
    weird = f"a b;touch {tmp_path}/pwned $(id) `id` '\"\n"
    ret = loaders.states.argv.run(name="t", argv=["sh", "-c", 'printf %s "$1" > "$2"', "sh",
                                                  weird, str(out)])
    assert ret.result is True, ret.filtered
    assert out.read_text() == weird
    assert not (tmp_path / "pwned").exists()
    assert ret.changes["retcode"] == 0


def test_argv_run_failure_hidden_output_env_stdin(loaders, tmp_path):
    ret = loaders.states.argv.run(name="t", argv=["ls", str(tmp_path / "nope")])
    assert ret.result is False and "rc=2" in ret.comment and "nope" in ret.comment
    ret = loaders.states.argv.run(name="t", argv=["sh", "-c", "cat; echo $ZQ"],
                                  stdin="secret-in\n", env=[{"ZQ": "secret-env"}],
                                  hide_output=True, output_loglevel="quiet")
    assert ret.result is True
    assert "secret" not in str(ret.filtered)
    ret = loaders.states.argv.run(name="t", argv="ls -l")
    assert ret.result is False and "non-empty list of strings" in ret.comment


def _high(loaders, states, test=False):
    high = {}
    for sid, (decl, args) in states.items():
        mod, fun = decl.split(".")
        high[sid] = {mod: [fun, *args], "__sls__": "guards_test", "__env__": "base"}
    return {r.id: r for r in loaders.modules.state.high(high, test=test)}


def test_argv_run_with_function_guards_through_salt_requisites(loaders, tmp_path):
    """argv.run under Salt's own unless/onlyif function requisites (state.high): test mode
    runs nothing, the first run acts, the second is zero changes; a string in the guarded
    file is data, not code."""
    conf = tmp_path / "idmapd zq.conf"
    conf.write_text("[General]\n#Domain = x\n")
    marker = tmp_path / "marker"
    states = {
        "add-domain": ("argv.run", [
            {"argv": ["sh", "-c", 'printf "Domain = zq\\n" >> "$1"', "sh", str(conf)]},
            {"unless": [{"fun": "file.search", "path": str(conf),
                         "pattern": "^[ \t]*Domain[ \t]*=", "ignore_if_missing": True}]}]),
        "touch-marker": ("argv.run", [
            {"argv": ["touch", str(marker)]},
            {"unless": [{"fun": "file.file_exists", "args": [str(marker)]}]},
            {"onlyif": [{"fun": "file.directory_exists", "args": [str(tmp_path)]}]}]),
    }
    ret = _high(loaders, states, test=True)
    assert ret["add-domain"].result is None and ret["touch-marker"].result is None
    assert not marker.exists() and "Domain = zq" not in conf.read_text()
    ret = _high(loaders, states)
    assert all(r.result is True and r.changes for r in ret.values()), ret
    assert conf.read_text().count("Domain = zq") == 1 and marker.exists()
    ret = _high(loaders, states)
    assert all(r.result is True and not r.changes for r in ret.values()), ret
    assert "unless condition is true" in ret["add-domain"].comment


def test_argv_run_guards_are_its_own_watch_shell_strings_and_the_loader(loaders, tmp_path):
    """argv.run evaluates its guards itself (mod_run_check): a guard that skips also keeps a
    ``watch`` from running the command, a shell-string guard fails the state, and a highstate
    of guarded states never makes Salt import every state module (what Salt's own guard
    evaluation does for a module without mod_run_check)."""
    import salt.state

    trigger, marker = tmp_path / "trigger", tmp_path / "marker"
    states = {
        "changed": ("file.managed", [{"name": str(trigger)}, {"contents": "x"}]),
        "watcher": ("argv.run", [
            {"argv": ["touch", str(marker)]},
            {"unless": [{"fun": "file.directory_exists", "args": [str(tmp_path)]}]},
            {"watch": [{"file": "changed"}]}]),
        "shell-guard": ("argv.run", [{"argv": ["true"]}, {"onlyif": ["test -d /"]}]),
    }
    high = {sid: {decl.split(".")[0]: [decl.split(".")[1], *args], "__sls__": "guards_test",
                  "__env__": "base"} for sid, (decl, args) in states.items()}
    st = salt.state.State(dict(loaders.opts, test=False))
    ret = {r["__id__"]: r for r in st.call_high(high).values()}
    assert ret["changed"]["changes"] and ret["watcher"]["result"] is True, ret
    assert not ret["watcher"]["changes"] and not marker.exists()
    assert ret["watcher"]["comment"] == "unless condition is true"
    assert ret["shell-guard"]["result"] is False and "shell string" in ret["shell-guard"]["comment"]
    loaded = {key.split(".")[0] for key in st.states._dict}
    assert len(loaded) < 10, sorted(loaded)  # file, argv (+ what they pull in), not ~130
    # the same lookup a module without mod_run_check gets: every state module is imported
    assert "test.mod_run_check" not in st.states
    assert len({key.split(".")[0] for key in st.states._dict}) > 50
