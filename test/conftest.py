"""Shared pytest fixtures for opennebula-ha-formula.

Three kinds of tests live under test/:
  unit/        one module, Salt dunders mocked (``load_ext`` + ``configure_loader_modules``)
  functional/  real tools (cibadmin, crmsh, crm_simulate, drbdadm, ...) and loopback test
               doubles, our modules loaded by Salt's real loader (``salt_loaders``)
  render/      real ``salt-call --local`` renders of the formula against test pillars
"""
import contextlib
import importlib.util
import json
import logging
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parent.parent
TEST = REPO / "test"
VENV_BIN = pathlib.Path(sys.executable).parent
# Expected render failures are the point of many tests: keep Salt's renderer from logging them.
logging.getLogger("salt.utils.templates").setLevel(logging.CRITICAL)


def template_env():
    """A plain Jinja environment on the repo, like Salt's jinja renderer for the templates:
    the `do` extension, StrictUndefined, and Salt's `raise` global (a TemplateError here)."""
    import jinja2

    def _raise(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(REPO)),
                             extensions=["jinja2.ext.do"], undefined=jinja2.StrictUndefined)
    env.globals["raise"] = _raise
    return env


class Utils(dict):
    """``__utils__`` as Salt's utils loader gives it for our ``_utils/*.py``:
    ``"<file>.<function>"`` -> function. Each file is imported under a private name and, as
    under Salt (whose utils loader packs no ``__utils__`` into utils), gets no ``__utils__``:
    a util that needs a sibling loads it from its own directory (``ohaf_cmd._sibling``)."""

    def __init__(self):
        super().__init__()
        for path in sorted((REPO / "_utils").glob("*.py")):
            modname = f"onehaext_utils_{path.stem}"
            spec = importlib.util.spec_from_file_location(modname, path)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[modname] = mod
            spec.loader.exec_module(mod)
            for attr, value in vars(mod).items():
                if callable(value) and not attr.startswith("_") \
                        and getattr(value, "__module__", None) == modname:
                    self[f"{path.stem}.{attr}"] = value


UTILS = Utils()


def load_ext(kind, name):
    """Import ``_modules/<name>.py`` or ``_states/<name>.py`` under a private module name,
    with ``__utils__`` set to our ``_utils`` (``UTILS``) as Salt's loader would.

    Our module names (``linstor``, ``one``...) may clash with real libraries, so they are
    never put on sys.path; each is loaded from its file as ``onehaext_<kind>_<name>``.
    Tests that use ``configure_loader_modules`` pass ``"__utils__": UTILS`` with the other
    dunders (it resets every dunder it is not given to ``{}``).
    """
    path = REPO / f"_{kind}" / f"{name}.py"
    modname = f"onehaext_{kind}_{name}"
    if modname in sys.modules:
        return sys.modules[modname]
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    mod.__utils__ = UTILS
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def repo_root():
    return REPO


@pytest.fixture(scope="session")
def fixtures_dir():
    return TEST / "fixtures"


FORMULA_DIRS = ["opennebula", "pacemaker", "drbd", "storage", "common", "_modules", "_states",
                "_utils"]


def formula_file_root(path):
    """A file root holding only the formula (symlinks), never the repo root: the local
    fileserver walks its roots, and .venv/.lab/.git would cost minutes per call."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name in FORMULA_DIRS:
        link = path / name
        if not link.exists():
            link.symlink_to(REPO / name)
    return path


def minion_config(root_dir, minion_id="cloud-cc01", pillar=None, grains=None, extra=None):
    """A minion config that keeps everything under ``root_dir`` and loads our
    ``_modules``/``_states`` straight from the repo (no saltutil.sync needed)."""
    root_dir = pathlib.Path(root_dir)
    file_root = formula_file_root(root_dir / "srv")
    conf = {
        "id": minion_id,
        "root_dir": str(root_dir),
        "file_client": "local",
        "file_roots": {"base": [str(file_root), str(TEST / "salt")]},
        "pillar_roots": {"base": [str(root_dir / "pillar")]},
        "module_dirs": [str(REPO / "_modules")],
        "states_dirs": [str(REPO / "_states")],
        "utils_dirs": [str(REPO / "_utils")],
        "cachedir": str(root_dir / "cache"),
        "pki_dir": str(root_dir / "pki"),
        "sock_dir": str(root_dir / "sock"),
        "log_file": str(root_dir / "minion.log"),
        "log_level_logfile": "warning",
        "state_verbose": True,
        "fileserver_followsymlinks": True,
        "enable_fqdns_grains": False,
        "grains_cache": False,
    }
    if grains:
        conf["grains"] = grains
    if extra:
        conf.update(extra)
    (root_dir / "conf").mkdir(parents=True, exist_ok=True)
    (root_dir / "pillar").mkdir(parents=True, exist_ok=True)
    (root_dir / "conf" / "minion").write_text(yaml.safe_dump(conf))
    if pillar is not None:
        (root_dir / "pillar" / "top.sls").write_text("base:\n  '*':\n    - data\n")
        (root_dir / "pillar" / "data.sls").write_text(yaml.safe_dump(pillar))
    return conf


class SaltCall:
    """Runs the real ``salt-call --local`` against a private config dir."""

    def __init__(self, root_dir):
        self.root_dir = pathlib.Path(root_dir)

    def configure(self, **kwargs):
        return minion_config(self.root_dir, **kwargs)

    def run(self, *args, check=True, timeout=300):
        cmd = [
            str(VENV_BIN / "salt-call"),
            "--local",
            f"--config-dir={self.root_dir / 'conf'}",
            "--out=json",
            "--log-level=quiet",
            *args,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        data = None
        if proc.stdout.strip():
            try:
                data = json.loads(proc.stdout)
            except ValueError:
                data = None
        if check and proc.returncode != 0:
            raise AssertionError(
                f"salt-call {' '.join(args)} failed rc={proc.returncode}\n"
                f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
            )
        return proc, data


@pytest.fixture
def salt_call(tmp_path):
    return SaltCall(tmp_path / "salt")


@contextlib.contextmanager
def loaders_at(root):
    """Salt's real loader (modules + states) with our extension dirs, offline, configured
    under ``root``; reset on exit."""
    import salt.config
    from saltfactories.utils.functional import Loaders

    conf = minion_config(root)
    opts = salt.config.minion_config(str(pathlib.Path(root) / "conf" / "minion"))
    opts.update(conf)
    opts["grains"] = {}
    loaders = Loaders(opts)
    try:
        yield loaders
    finally:
        loaders.reset_state()


@pytest.fixture
def salt_loaders(tmp_path):
    """Salt's real loader (modules + states) with our extension dirs, offline."""
    with loaders_at(tmp_path / "salt") as loaders:
        yield loaders


UNIT_STANDINS = TEST / "fixtures" / "systemd-units"


@pytest.fixture(scope="session", autouse=True)
def formula_unit_files():
    """The crm states refuse a ``systemd:`` resource whose unit file this node lacks
    (``systemctl list-unit-files``). The graph tests render units of packages this host does
    not install (opennebula, nginx, linstor-controller...): test/fixtures/systemd-units holds
    stand-in unit files, put in front of systemd's own unit path for every test and the
    salt-call processes they start (``SYSTEMD_UNIT_PATH``; ``SYSTEMD_OFFLINE=1`` makes
    systemctl read the directories even where systemd runs). A name missing from both is
    still refused: test/functional/test_crm_agents.py."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SYSTEMD_UNIT_PATH", f"{UNIT_STANDINS}:")
    mp.setenv("SYSTEMD_OFFLINE", "1")
    yield UNIT_STANDINS
    mp.undo()


def require_tools(*tools):
    """Skip-marker for tests that need real binaries; CI installs all of them
    (``.ci/run``), so a skip there is a CI setup bug, not a pass."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI must install {missing}")
    return pytest.mark.skipif(bool(missing), reason=f"needs {missing}")


# --------------------------------------------------------------------------------------------
# Pillar fixtures: pillar.example + test-only secrets, and an in-process renderer of
# common/model.jinja through Salt's own Jinja renderer (same filters, tests and
# `raise` as a minion), for the fast validation/role tests. End-to-end renders use salt_call.
# --------------------------------------------------------------------------------------------
_DOUBLE_MODULES = {"oned_double": "onehaext_oned_double",
                   "linstor_double": "onehatest_linstor_double"}


def load_double(name):
    """test/doubles/<name>.py (oned_double, linstor_double), imported once per process under
    the module name the benches use too."""
    modname = _DOUBLE_MODULES[name]
    if modname not in sys.modules:
        spec = importlib.util.spec_from_file_location(modname, TEST / "doubles" / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
    return sys.modules[modname]


def show_sls(salt_call, minion, pillar, sls, grains=None):
    """High data of ``sls`` for ``minion`` through a real `salt-call --local state.show_sls`
    (the render must succeed): {state id: {module: [fun, {arg: value}...], __sls__...}}."""
    salt_call.configure(minion_id=minion, pillar=pillar, grains=grains)
    proc, data = salt_call.run("state.show_sls", sls, check=False)
    assert proc.returncode == 0 and isinstance((data or {}).get("local"), dict), (
        proc.stdout[-3000:] + proc.stderr[-2000:])
    return data["local"]


def state_arg(state, key):
    """The value of argument ``key`` in one state's high data."""
    for item in next(v for k, v in state.items() if not k.startswith("__")):
        if isinstance(item, dict) and key in item:
            return item[key]
    raise KeyError(key)


_EXAMPLE = []


def example_pillar():
    """pillar.example with its CHANGE_ME secrets replaced by test/pillar/secrets.yaml (a fresh
    copy each call; the files are parsed once per process)."""
    import copy

    if not _EXAMPLE:
        data = yaml.safe_load((REPO / "pillar.example").read_text())
        secrets = yaml.safe_load((TEST / "pillar" / "secrets.yaml").read_text())["secrets"]
        data["secrets"].update(secrets)
        _EXAMPLE.append(data)
    return copy.deepcopy(_EXAMPLE[0])


def deep_merge(base, override):
    """Recursive dict merge (override wins; a None value deletes the key)."""
    out = dict(base)
    for key, value in (override or {}).items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def render_model(pillar, minion_id="cloud-cc01", grains=None):
    """Render common/model.jinja in-process; return the model dict or raise
    salt.exceptions.SaltRenderError with the validation message."""
    import copy

    import salt.config
    import salt.exceptions
    import salt.modules.defaults
    import salt.utils.data
    import salt.utils.templates

    def pillar_get(key, default="", merge=False, delimiter=":"):
        return salt.utils.data.traverse_dict_and_list(pillar, key, default, delimiter)

    def defaults_merge(dest, src, merge_lists=False, in_place=True, convert_none=True):
        return salt.modules.defaults.merge(
            dest, src, merge_lists=merge_lists, in_place=in_place, convert_none=convert_none
        )

    def slsutil_renderer(path, default_renderer="jinja|yaml", **kwargs):
        # what slsutil.renderer does with a `#!py` file: Salt's own py template, the keyword
        # arguments set as module globals, run() returning the data
        assert path.startswith("salt://") and default_renderer == "py", (path, default_renderer)
        out = salt.utils.templates.py(str(REPO / path[len("salt://"):]), True, saltenv="base",
                                      salt={}, grains=grains, pillar={}, opts=opts, **kwargs)
        if not out.get("result"):
            raise salt.exceptions.SaltRenderError(out.get("data"))
        return out["data"]

    grains = dict(grains or {})
    grains.setdefault("id", minion_id)
    grains.setdefault("os_family", "Debian")
    opts = copy.deepcopy(salt.config.DEFAULT_MINION_OPTS)
    context = {
        "opts": opts,
        "saltenv": None,
        "sls": "",
        "salt": {"pillar.get": pillar_get, "defaults.merge": defaults_merge,
                 "slsutil.renderer": slsutil_renderer},
        "pillar": pillar,
        "grains": grains,
    }
    src = '{%- from "common/model.jinja" import model with context %}{{ model | tojson }}'
    out = salt.utils.templates.JINJA(
        src, from_str=True, to_str=True, context=context, tmplpath=str(REPO / "inline.jinja")
    )
    if not out.get("result"):
        raise salt.exceptions.SaltRenderError(str(out.get("data")))
    return json.loads(out["data"])


@pytest.fixture
def example():
    return example_pillar()
