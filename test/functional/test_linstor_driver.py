"""LINBIT's current OpenNebula driver (addon-linstor 3.x), REAL, installed by the formula into a
REAL oned (each OpenNebula line the formula renders: 7.4.0, 6.10.5), against the LINSTOR REST
double (test/doubles/linstor_double.py, loopback, free port):

1. one real `salt-call --local state.apply storage.linstor.objects,storage.linstor.driver,
   opennebula.config` on the controller front-end: the LINSTOR nodes, pools and resource group
   in the double (through python-linstor), the driver's datastore/ tm/ and python package from
   storage:linstor:driver_source (salt://<the unpacked release>) into that oned's remotes,
   oned.conf (linstor MADs, TM_MAD_CONF/DS_MAD_CONF);
2. oned started with that oned.conf (test_real_oned's self-contained tree, 127.0.0.1, free
   ports, killed by its process group);
3. `state.apply opennebula.register`: the formula's datastores (storage/linstor/datastores.yaml
   through storage/datastores.jinja and one.datastore_present) created in the real oned,
   COMPATIBLE_SYS_DS = the id oned gave the system datastore;
4. a 100 MiB DATABLOCK image allocated in the image datastore: oned runs the driver's
   datastore/mkfs, which spawns the resource from the formula's resource group (the double
   records the spawn: group, name, size) and hands the mkfs commands to the resource's node
   over ssh (a recording `ssh` stand-in: no node exists); the image is READY with the
   LINSTOR resource as SOURCE. Before it, the datastore/monitor oned runs on creation reports
   the capacity the double's pools give for the group's place count.

The driver finds the controller through the datastore's LINSTOR_CONTROLLERS (the formula
writes storage:linstor:controllers = the double's linstor://127.0.0.1:<port>). `python3` on
oned's PATH is this venv's (python-linstor). One work-around, for the self-contained tree only:
with ONE_LOCATION set the driver joins "<ONE_LOCATION>/var/remotes" + "VERSION" (no slash; a
packaged oned has no ONE_LOCATION), so the tree gets var/remotesVERSION and var/remotesetc
links.

SKIPPED, never failed, like test_real_oned: no oned .deb in the cache, dpkg-deb/ruby or ruby-*
dependencies missing, not root, oned's fixed hook-manager ports taken, or the driver release
archive absent (LINSTOR_DRIVER_ARCHIVE, default /work/shared/opennebula-src/
addon-linstor-v3.0.5.tar.xz). Prints per version how long the image took to be READY."""
import base64
import json
import os
import pathlib
import stat
import subprocess
import sys
import tarfile
import time

import pytest

from conftest import deep_merge, load_double, minion_config
from functional.test_real_oned import (ONE_AUTH, RELEASES, _free_port, _one_location,  # noqa: F401
                                       _skip, _stop, _tail, _wait_answer, oned_trees)
from render.test_opennebula_frontend import apply, local_pillar

ARCHIVE = pathlib.Path(os.environ.get(
    "LINSTOR_DRIVER_ARCHIVE",
    os.path.join(os.environ.get("ONE_SRC", "/work/shared/opennebula-src"), "addon-linstor-v3.0.5.tar.xz")))
# with the other real-oned tests in one xdist worker (Makefile: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("real-oned")
GiB = 1024 * 1024  # KiB
# per satellite: open_image 40 GiB (30 free), open_system 20 GiB (all free); place_count 2
POOL_KIB = {"open_image": (40 * GiB, 30 * GiB), "open_system": (20 * GiB, 20 * GiB)}
SATELLITES = ["cloud-01", "cloud-02", "cloud-cc01"]
# the driver's calculate_space: per node (sum over the group's pools) // place_count // 1024
TOTAL_MB = 3 * (60 * GiB // 2 // 1024)  # 92160
FREE_MB = 3 * (50 * GiB // 2 // 1024)  # 76800
IMAGE_MB = 100
READY, ERROR = 1, 5
SSH_STANDIN = """#!/bin/sh
# recording stand-in for ssh (no LINSTOR node exists): host + command + stdin, exit 0
{ printf '%s\\n' "$*"; cat; printf '\\n--\\n'; } >> "$OHAF_SSH_LOG"
exit 0
"""


@pytest.fixture(scope="module")
def driver_tree(tmp_path_factory):
    """The unpacked release, as the salt:// directory storage:linstor:driver_source names."""
    if not ARCHIVE.is_file():
        _skip(f"no driver release archive {ARCHIVE} (LINSTOR_DRIVER_ARCHIVE)")
    root = tmp_path_factory.mktemp("driver-src")
    with tarfile.open(ARCHIVE) as tar:
        tar.extractall(root, filter="tar")
    (top,) = [p for p in root.iterdir() if p.is_dir()]
    return top


def _standins(d):
    d.mkdir()
    py = d / "python3"
    # this venv's python (python-linstor); the driver's stderr also kept for the assertions
    py.write_text(f'#!/bin/bash\nexec {sys.executable} "$@" 2> >(tee -a "$OHAF_PY_ERR" >&2)\n')
    ssh = d / "ssh"
    ssh.write_text(SSH_STANDIN)
    for f in (py, ssh):
        f.chmod(f.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return d


def _pillar(tmp_path, version, double, port, grpc, remotes, driver_tree):
    p = local_pillar(tmp_path, "linstor", "none")
    return deep_merge(p, {
        "opennebula": {
            "version": version,
            "endpoint": f"http://127.0.0.1:{port}/RPC2",
            "db": {"backend": "sqlite"},
            "register": {"hosts": False, "marketplaces": {}},
            "lookup": {"oned": {"port": port, "listen_address": "127.0.0.1", "grpc_port": grpc,
                                "start_wait": 60}},
        },
        "storage": {"linstor": {
            "controllers": double.url,
            "driver_source": f"salt://{driver_tree.name}",
        }, "lookup": {"linstor": {
            "manage_packages": False, "manage_services": False,
            "client_conf": str(tmp_path / "linstor-client.conf"),
            "api_wait": 10, "api_wait_interval": 1,
            "one_remotes": str(remotes),
        }}},
    })


def _configure(salt_call, pillar, driver_tree):
    root = salt_call.root_dir
    conf = minion_config(root, minion_id="cloud-cc01", pillar=pillar)
    roots = conf["file_roots"]["base"] + [str(driver_tree.parent)]
    minion_config(root, minion_id="cloud-cc01", pillar=pillar, extra={"file_roots": {"base": roots}})


def _apply(salt_call, sls):
    proc, data = salt_call.run("state.apply", sls, check=False)
    rets = data.get("local") if isinstance(data, dict) else None
    assert isinstance(rets, dict), proc.stdout[-3000:] + proc.stderr[-2000:]
    bad = {k: r["comment"] for k, r in rets.items() if r["result"] is not True}
    assert not bad, json.dumps(bad, indent=1)[-4000:]
    return {k.split("_|-")[1]: r for k, r in rets.items()}


def _wait(what, fun, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fun()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("version", list(RELEASES))
def test_real_driver_deploys_images_through_the_formula_resource_group(
        oned_trees, driver_tree, salt_call, tmp_path, version):  # noqa: F811
    x = oned_trees(version)
    import pyone
    remotes = x / "var/lib/one/remotes"
    port, grpc, mon = _free_port(), _free_port(), _free_port(udp_too=True)
    with load_double("linstor_double").LinstorRestDouble() as double:
        _configure(salt_call, _pillar(tmp_path, version, double, port, grpc, remotes, driver_tree),
                   driver_tree)
        res = _apply(salt_call, "storage.linstor.objects,storage.linstor.driver,opennebula.config")
        # the driver as its setup.py lays it out, + its package next to the scripts
        for kind in ("datastore", "tm"):
            d = remotes / kind / "linstor"
            assert (d / "one" / "extender.py").is_file() and not (d / "one" / "tests").exists()
            assert sorted(p.name for p in d.iterdir() if p.name != "one") == sorted(
                p.name for p in (driver_tree / kind).iterdir())
        assert os.access(remotes / "datastore/linstor/mkfs", os.X_OK)
        assert "storage-linstor-driver-datastore" in res
        rg = double.resource_groups["one_rg"]["select_filter"]
        assert (rg["place_count"], sorted(rg["storage_pool_list"])) == (2, ["open_image", "open_system"])
        for node in SATELLITES:
            for pool, (total, free) in POOL_KIB.items():
                double.pools[node][pool].update(total_capacity=total, free_capacity=free)

        t = tmp_path / "one"
        _one_location(x, t, tmp_path / "etc/one/oned.conf", mon)
        (t / "var/remotesVERSION").symlink_to(t / "var/remotes/VERSION")
        (t / "var/remotesetc").symlink_to(t / "var/remotes/etc")
        bin_dir = _standins(tmp_path / "standins")
        ssh_log = tmp_path / "ssh.log"
        env = dict(os.environ, ONE_LOCATION=str(t), ONE_AUTH=str(t / "one_auth"), HOME=str(t),
                   RUBYLIB=str(t / "lib/ruby"), OHAF_SSH_LOG=str(ssh_log),
                   OHAF_PY_ERR=str(tmp_path / "driver.stderr"),
                   # scripts_common.sh puts /bin:/usr/bin first on PATH; it honours $SSH
                   SSH=str(bin_dir / "ssh"),
                   PATH=f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}")
        out = (tmp_path / "oned.out").open("w")
        proc = subprocess.Popen(["nice", "-n", "19", str(t / "bin/oned"), "-f"], env=env, cwd=t,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            endpoint = f"http://127.0.0.1:{port}/RPC2"
            _wait_answer(endpoint, proc, t / "var/oned.log")
            one = pyone.OneServer(endpoint, session=ONE_AUTH)
            reg = _apply(salt_call, "opennebula.register")
            assert reg["opennebula-register-datastore-linstor_image_auto_place"]["result"] is True
            dss = {d.NAME: d for d in one.datastorepool.info(-2, -1, -1).DATASTORE}
            sys_ds, img_ds = dss["linstor_system_auto_place"], dss["linstor_image_auto_place"]
            tmpl = img_ds.TEMPLATE
            assert tmpl["LINSTOR_RESOURCE_GROUP"] == "one_rg"
            assert tmpl["LINSTOR_CONTROLLERS"] == double.url
            assert tmpl["COMPATIBLE_SYS_DS"] == str(sys_ds.ID)
            assert "LINSTOR_AUTO_PLACE" not in tmpl and "LINSTOR_STORAGE_POOL" not in tmpl
            # oned copied the formula's TM_MAD_CONF linstor line into the image datastore
            assert (tmpl.get("TM_MAD_SYSTEM"), tmpl.get("CLONE_TARGET_SSH"), tmpl.get("DISK_TYPE_SSH")) == (
                "ssh,shared", "SELF", "BLOCK")

            # oned runs the driver's datastore/monitor on creation: the group's pools, per place
            # count (oned refuses images in a datastore without free space: wait for it)
            ds = _wait("the monitored capacity", lambda: (
                lambda d: d if int(d.TOTAL_MB) else None)(one.datastore.info(img_ds.ID)))
            assert (int(ds.TOTAL_MB), int(ds.FREE_MB), int(ds.USED_MB)) == (
                TOTAL_MB, FREE_MB, TOTAL_MB - FREE_MB)
            assert double.count("GET", "/v1/view/storage-pools") >= 1

            start = time.monotonic()
            image_id = one.image.allocate(
                f'NAME = "ohaf-datablock"\nTYPE = "DATABLOCK"\nSIZE = "{IMAGE_MB}"\n'
                'FORMAT = "raw"\nPERSISTENT = "YES"\n', img_ds.ID)
            image = _wait("image READY or ERROR", lambda: (
                lambda i: i if i.STATE in (READY, ERROR) else None)(one.image.info(image_id)))
            took = time.monotonic() - start
            errs = tmp_path / "driver.stderr"
            assert image.STATE == READY, (errs.read_text()[-3000:] if errs.exists() else "") + _tail(
                t / "var/oned.log")
            name = f"OpenNebula-Image-{image_id}"
            assert image.SOURCE == name
            spawns = [(g, b["resource_definition_name"], b["volume_sizes"]) for g, b in double.spawns]
            assert spawns == [("one_rg", name, [IMAGE_MB * 1024])]
            placed = sorted(double.resources[name])
            assert len(placed) == 2 and set(placed) <= set(SATELLITES)
            log = ssh_log.read_text()
            assert f"/dev/drbd/by-res/{name}/0" in log and log.split()[0] in placed
            print(f"\noned {RELEASES[version]} + addon-linstor {driver_tree.name}: image READY "
                  f"{took:.1f} s after allocate; datastore {TOTAL_MB} MB / {FREE_MB} MB free")
        finally:
            _stop(proc)
            out.close()


def test_driver_action_reaches_the_double_without_oned(driver_tree, tmp_path):
    """The driver's datastore/monitor alone (stdin: base64 driver action XML, as oned >= 6.6
    sends it) with the formula's attributes: guards the wiring above where no oned .deb
    exists (CI): controllers URI, resource group lookup, capacity figure."""
    with load_double("linstor_double").LinstorRestDouble() as double:
        for node in SATELLITES:
            double.seed_node(node, "127.0.0.1")
            for pool, (total, free) in POOL_KIB.items():
                double.seed_pool(node, pool, "LVM_THIN", {"StorDriver/StorPoolName": f"vg/{pool}"})
                double.pools[node][pool].update(total_capacity=total, free_capacity=free)
        double.resource_groups["one_rg"] = {
            "name": "one_rg", "description": "", "props": {}, "uuid": "0",
            "select_filter": {"place_count": 2, "storage_pool_list": ["open_image", "open_system"]}}
        remotes = tmp_path / "remotes"
        (remotes / "datastore").mkdir(parents=True)
        (remotes / "VERSION").write_text("7.4.0\n")
        action = (
            "<DS_DRIVER_ACTION_DATA><DATASTORE><ID>101</ID><NAME>linstor_image_auto_place</NAME>"
            "<DS_MAD>linstor</DS_MAD><TM_MAD>linstor</TM_MAD><TOTAL_MB>0</TOTAL_MB>"
            "<FREE_MB>0</FREE_MB><USED_MB>0</USED_MB><TEMPLATE>"
            f"<LINSTOR_CONTROLLERS>{double.url}</LINSTOR_CONTROLLERS>"
            "<LINSTOR_RESOURCE_GROUP>one_rg</LINSTOR_RESOURCE_GROUP>"
            "</TEMPLATE></DATASTORE></DS_DRIVER_ACTION_DATA>")
        env = dict(os.environ, ONE_LOCATION=str(tmp_path), PYTHONPATH=str(driver_tree))
        (tmp_path / "var").mkdir()
        (tmp_path / "var/remotesVERSION").symlink_to(remotes / "VERSION")
        got = subprocess.run([sys.executable, str(driver_tree / "datastore/monitor"), "101"],
                             input=base64.b64encode(action.encode()).decode() + "\n",
                             capture_output=True, text=True, env=env, timeout=60)
        assert got.returncode == 0, got.stderr
        assert got.stdout.split() == [f"USED_MB={TOTAL_MB - FREE_MB}", f"TOTAL_MB={TOTAL_MB}",
                                      f"FREE_MB={FREE_MB}"]
        assert double.count("GET", "/v1/resource-groups") == 1
