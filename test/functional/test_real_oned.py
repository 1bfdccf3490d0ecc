"""The REAL oned of each OpenNebula line the formula renders (6.10.5, 7.4.0) started with the
formula's own oned.conf: for every storage variant (sqlite: a single front-end; MariaDB: the
private mariadbd of test_guard_functions, for drbd_aoe_lvm, which needs Pacemaker and so a
server database, and one more variant), rendered by a real `salt-call --local state.apply
opennebula.config`. oned must answer `one.system.version` (pyone) with its line, and the
datastores it bootstraps (system, default, files) must use a transfer driver the formula's
TM_MAD list has (system: also its DATASTORE_MAD -s list); the ssh variant's datastores
(storage/ssh/datastores.yaml, per version) must be the ones oned made, or
opennebula.register would refuse to change them.

oned comes from the .debs lab/oned/build.sh packs (/var/cache/opennebula-ha-formula/oned/
<version>/opennebula-lab_<version>-1_amd64.deb), extracted (dpkg-deb -x) into a temp dir and
run self-contained (ONE_LOCATION: bin, lib, share, etc, var of that tree), as root, on
127.0.0.1 with free ports (the hook manager's too: its fixed ports in oned.conf are swapped for
free ones in the copy oned reads), `nice -n 19`, killed by its process group at the end. Nothing is
installed on the host; the drivers are the package's Ruby ones and need the package's Debian
ruby-* Depends on the host.

SKIPPED when a .deb (or the whole cache dir) is absent, or when dpkg-deb/ruby or a ruby-*
dependency is missing. .ci/run builds both
lines (lab/oned/build.sh, cached outside the checkout) and sets ONED_BUILT=1: there a missing
.deb or dependency FAILS instead.
Prints per case how long oned took to answer (bench-style figure, never asserted)."""
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import deep_merge
from functional.test_guard_functions import mariadb  # noqa: F401  (the private mariadbd fixture)
from render.test_opennebula_frontend import DB_PASSWORD, apply, driver_lists, local_pillar

# every test that starts a real oned runs in one xdist worker (Makefile: --dist loadgroup):
# one oned at a time on 2 cores, and one module-scoped oned per version in the state tests
pytestmark = pytest.mark.xdist_group("real-oned")
CACHE = pathlib.Path(os.environ.get("ONED_CACHE", "/var/cache/opennebula-ha-formula/oned"))
RELEASES = {"6.10": "6.10.5", "7.4": "7.4.0"}
ONE_AUTH = "oneadmin:test-only-one-auth"  # the render tests' one_auth secret
HM_ARGS = "-p 2101 -l 2102"  # HM_MAD's ports in the formula's oned.conf (fixed there)
ANSWER_TIMEOUT = 180
CASES = [  # (variant, backend)
    ("ssh", "sqlite"), ("nfs", "sqlite"), ("moosefs", "sqlite"), ("linstor", "sqlite"),
    ("drbd_aoe_lvm", "mariadb"), ("ssh", "mariadb"),
]
STACK = {"sqlite": "none", "mariadb": "pacemaker"}
TIMES = {}


@pytest.fixture(scope="module", autouse=True)
def _print_times():
    """Per version: how long oned took to answer (printed with -s, never asserted)."""
    yield
    for version, release in RELEASES.items():
        t = sorted(v for k, v in TIMES.items() if k[0] == version)
        if t:
            print(f"\noned {release}: answered one.system.version {t[0]:.1f}-{t[-1]:.1f} s "
                  f"after its start ({len(t)} starts)")


def _free_port(udp_too=False):
    """A loopback port free for TCP (and UDP: onemonitord listens on both)."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if not udp_too:
            return port
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
    pytest.skip("no loopback port free for both TCP and UDP")


def _skip(reason):
    """Skip where the builds are absent; fail where .ci/run built them (ONED_BUILT=1): there
    a skip would hide that CI lost the real oned."""
    if os.environ.get("ONED_BUILT"):
        pytest.fail(f"ONED_BUILT is set but {reason}")
    pytest.skip(reason)


def _deb(release):
    debs = sorted((CACHE / release).glob(f"opennebula-lab_{release}-*_amd64.deb")) if CACHE.is_dir() else []
    if not debs:
        _skip(f"no oned .deb for {release} in {CACHE} (lab/oned/build.sh {release})")
    return debs[-1]


def _missing_ruby_deps(deb):
    dep = subprocess.run(["dpkg-deb", "-f", str(deb), "Depends"], capture_output=True, text=True,
                         check=True).stdout
    names = [re.split(r"[\s(|]", d.strip())[0] for d in dep.split(",")]
    missing = []
    for n in names:
        if n.startswith("ruby-") and subprocess.run(["dpkg", "-s", n], capture_output=True).returncode:
            missing.append(n)
    return missing


@pytest.fixture(scope="module")
def oned_trees(tmp_path_factory):
    """version -> the extracted .deb (dpkg-deb -x), each extracted once per module."""
    for tool in ("dpkg-deb", "dpkg", "ruby"):
        if shutil.which(tool) is None:
            _skip(f"needs {tool}")
    if os.geteuid() != 0:
        _skip("runs oned as root (the .deb's files are root's)")
    trees = {}

    def get(version):
        if version not in trees:
            deb = _deb(RELEASES[version])
            missing = _missing_ruby_deps(deb)
            if missing:
                _skip(f"oned's drivers need {' '.join(missing)} (apt-get install them)")
            x = tmp_path_factory.mktemp(f"oned-{version}")
            subprocess.run(["dpkg-deb", "-x", str(deb), str(x)], check=True)
            trees[version] = x
        return trees[version]
    return get


def _one_location(x, t, oned_conf, monitor_port):
    """A self-contained ONE_LOCATION tree over the extracted package x."""
    (t / "var/lock").mkdir(parents=True)
    (t / "var/datastores").mkdir()
    (t / "var/vms").mkdir()
    (t / "var/remotes").symlink_to(x / "var/lib/one/remotes")
    (t / "bin").symlink_to(x / "usr/bin")
    (t / "lib").symlink_to(x / "usr/lib/one")
    (t / "share").mkdir()
    for f in (x / "usr/share/one").iterdir():
        (t / "share" / f.name).symlink_to(f)
    shutil.copytree(x / "etc/one", t / "etc", symlinks=True)
    conf = pathlib.Path(oned_conf).read_text()
    assert HM_ARGS in conf, "the formula's HM_MAD ports changed: update HM_ARGS"
    # the hook manager's fixed ports -> free ones, so any other oned on this machine is no bother
    (t / "etc/oned.conf").write_text(
        conf.replace(HM_ARGS, f"-p {_free_port()} -l {_free_port()}"))
    mon = (t / "etc/monitord.conf").read_text()  # the package's, on loopback and a free port
    mon = re.sub(r'(\n\s*)ADDRESS\s*=\s*"[^"]*"', r'\g<1>ADDRESS = "127.0.0.1"', mon)  # 6.10 0.0.0.0, 7.4 ::
    mon = re.sub(r"(\n\s*)PORT\s*=\s*4124", rf"\g<1>PORT = {monitor_port}", mon)
    (t / "etc/monitord.conf").write_text(mon)
    (t / "one_auth").write_text(ONE_AUTH + "\n")


def _wait_answer(endpoint, proc, log):
    import pyone
    deadline = time.monotonic() + ANSWER_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"oned exited rc={proc.returncode}:\n{_tail(log)}")
        try:
            return pyone.OneServer(endpoint, session=ONE_AUTH).system.version()
        except Exception as e:  # noqa: BLE001  (not up yet: refused, reset, no leader...)
            last = e
        time.sleep(0.25)
    raise AssertionError(f"oned did not answer in {ANSWER_TIMEOUT} s ({last!r}):\n{_tail(log)}")


def _tail(log):
    return log.read_text()[-3000:] if log.exists() else "(no oned.log)"


def _stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the drivers and onemonitord it started
    except ProcessLookupError:
        pass
    proc.wait()


def _db_for(mariadb, name):  # noqa: F811
    sql = (f"CREATE DATABASE {name}; CREATE USER IF NOT EXISTS 'oneadmin'@'127.0.0.1' "
           f"IDENTIFIED BY '{DB_PASSWORD}'; GRANT ALL ON {name}.* TO 'oneadmin'@'127.0.0.1';")
    subprocess.run(["mysql", "--protocol=socket", f"--socket={mariadb['socket']}", "-e", sql],
                   check=True, capture_output=True, text=True)


@pytest.mark.parametrize("variant,backend", CASES)
@pytest.mark.parametrize("version", list(RELEASES))
def test_real_oned_runs_the_formula_oned_conf(request, oned_trees, salt_call, tmp_path,
                                              version, variant, backend):
    x = oned_trees(version)
    port, grpc, mon = _free_port(), _free_port(), _free_port(udp_too=True)
    pillar = local_pillar(tmp_path, variant, STACK[backend])
    pillar = deep_merge(pillar, {"opennebula": {
        "version": version,
        "lookup": {"oned": {"port": port, "listen_address": "127.0.0.1", "grpc_port": grpc}},
    }})
    if backend == "sqlite":
        pillar["opennebula"]["db"]["backend"] = "sqlite"
    else:
        db = request.getfixturevalue("mariadb")
        name = f"one_{version.replace('.', '_')}_{variant}"
        _db_for(db, name)
        pillar["opennebula"]["db"].update({"backend": "mariadb", "host": "127.0.0.1",
                                           "port": db["port"], "name": name})
    apply(salt_call, "opennebula.config", pillar=pillar)
    conf = tmp_path / "etc/one/oned.conf"
    text = conf.read_text()
    tm_d, _ds_d, ds_s = driver_lists(text)

    t = tmp_path / "one"
    _one_location(x, t, conf, mon)
    env = dict(os.environ, ONE_LOCATION=str(t), ONE_AUTH=str(t / "one_auth"), HOME=str(t),
               RUBYLIB=str(t / "lib/ruby"))
    out = (tmp_path / "oned.out").open("w")
    start = time.monotonic()
    proc = subprocess.Popen(["nice", "-n", "19", str(t / "bin/oned"), "-f"], env=env, cwd=t,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        got = _wait_answer(f"http://127.0.0.1:{port}/RPC2", proc, t / "var/oned.log")
        took = time.monotonic() - start
        TIMES[(version, variant, backend)] = took
        print(f"\noned {RELEASES[version]} ({variant}, {backend}) answered one.system.version "
              f"{got} after {took:.1f} s")
        assert got == RELEASES[version]
        import pyone
        one = pyone.OneServer(f"http://127.0.0.1:{port}/RPC2", session=ONE_AUTH)
        dss = {d.NAME: d for d in one.datastorepool.info(-2, -1, -1).DATASTORE}
        assert {"system", "default", "files"} <= set(dss), sorted(dss)
        for name in ("system", "default", "files"):
            assert dss[name].TM_MAD in tm_d, (name, dss[name].TM_MAD, tm_d)
        assert dss["system"].TM_MAD in ds_s, (dss["system"].TM_MAD, ds_s)
        if variant == "ssh":  # what opennebula.register will ask of oned's own datastores
            want = {"6.10": "ssh", "7.4": "local"}[version]
            assert (dss["system"].TM_MAD, dss["default"].TM_MAD) == (want, want)
        if version == "7.4":  # oned read the 7.4 lines: live migration, gRPC bound, scheduler
            cfg = one.system.config()
            tm_conf = {c["NAME"]: c for c in _tm_mad_conf(cfg)}
            assert tm_conf["local"].get("DS_LIVE_MIGRATE") == "YES", tm_conf.get("local")
            assert (_cfg(cfg, "GRPC_LISTEN_ADDRESS"), _cfg(cfg, "GRPC_PORT")) == ("127.0.0.1", str(grpc))
            assert _cfg(cfg, "MAX_ACTIONS_PER_CLUSTER") == "30"
        assert not re.search(r"\[E\]: .*(Unable to start|not available|Error loading)",
                             (t / "var/oned.log").read_text())
        # the hook manager (which runs the raft leader/follower hooks) loads ffi-rzmq, a
        # Debian gem reached only through ruby's gem path: alive, with no LoadError
        assert "one_hm" in _group_cmdlines(proc.pid), _group_cmdlines(proc.pid)
        assert "cannot load such file" not in (t / "var/oned.log").read_text()
    finally:
        _stop(proc)
        out.close()


def _group_cmdlines(pgid):
    """The command lines of oned's process group (oned and the drivers it started)."""
    out = []
    for d in pathlib.Path("/proc").iterdir():
        try:
            if d.name.isdigit() and os.getpgid(int(d.name)) == pgid:
                out.append((d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            pass
    return "\n".join(out)


def _cfg(cfg, name):
    """A single value of oned's own view of its configuration (one.system.config)."""
    v = getattr(cfg, name, None)
    return None if v is None else str(v)


def _tm_mad_conf(cfg):
    """oned's own view of TM_MAD_CONF (one.system.config)."""
    items = cfg.TM_MAD_CONF if hasattr(cfg, "TM_MAD_CONF") else []
    out = []
    for item in items:
        out.append({k: getattr(item, k) for k in dir(item) if k.isupper()})
    return out
