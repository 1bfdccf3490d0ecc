"""Every state of the formula goes through the one state engine (``_utils/ohaf_state.py``).

Each ``_states/*.py`` is imported with a ``__utils__`` whose ``ohaf_state.run`` only records
its call, and a ``__salt__`` that fails on any lookup: every public state function, called
with placeholder arguments, must hand its read/diff/apply to the engine exactly once and
return what the engine returned, without calling an execution module on its own (argument
checks, refusals and "not on this node" belong in the engine's ``precheck``).

And statically: modules and states reach ``_utils`` only through their ``_u`` accessor (the
library function itself: a ``LoadedFunc`` would run the closures in the utils loader's
context), and run commands only through ``ohaf_cmd.run``.
"""
import ast
import importlib.util
import inspect
import sys

import pytest

from conftest import REPO, UTILS

STATE_FILES = sorted(p.stem for p in (REPO / "_states").glob("*.py"))
CODE_FILES = sorted((REPO / "_modules").glob("*.py")) + sorted((REPO / "_states").glob("*.py"))


class NoSalt(dict):
    def __getitem__(self, key):
        raise AssertionError(f"__salt__[{key!r}] called outside the engine")

    def __contains__(self, key):
        raise AssertionError(f"{key!r} in __salt__ checked outside the engine")


class Recorder(dict):
    def __init__(self):
        super().__init__(UTILS)
        self.calls = []
        self.sentinel = {"name": "placeholder", "result": True, "changes": {},
                         "comment": "from the engine"}

        def run(name, **kwargs):
            self.calls.append((name, kwargs))
            return self.sentinel

        self["ohaf_state.run"] = run


def load_state(name):
    path = REPO / "_states" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"onehaext_engine_check_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def state_functions(mod):
    for fname, fun in vars(mod).items():
        if (inspect.isfunction(fun) and fun.__module__ == mod.__name__
                and not fname.startswith("_") and not fname.startswith("mod_")):
            yield fname, fun


def placeholder_call(fun):
    args, kwargs = [], {}
    for param in inspect.signature(fun).parameters.values():
        if param.default is not inspect.Parameter.empty or param.kind in (
                param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.kind == param.KEYWORD_ONLY:
            kwargs[param.name] = "placeholder"
        else:
            args.append("placeholder")
    return args, kwargs


def test_every_state_module_is_checked():
    assert {"argv", "ccs", "crm", "drbd", "linstor", "moosefs", "one"} <= set(STATE_FILES)


@pytest.mark.parametrize("state_file", STATE_FILES)
def test_every_state_function_returns_what_the_engine_returned(state_file):
    mod = load_state(state_file)
    funcs = dict(state_functions(mod))
    assert funcs, f"_states/{state_file}.py has no state functions"
    for fname, fun in funcs.items():
        utils = Recorder()
        mod.__utils__, mod.__salt__ = utils, NoSalt()
        mod.__opts__, mod.__context__ = {"test": False}, {}
        mod.__grains__, mod.__pillar__ = {}, {}
        args, kwargs = placeholder_call(fun)
        ret = fun(*args, **kwargs)
        assert ret is utils.sentinel, f"{state_file}.{fname} returned {ret!r}, not the engine's"
        assert len(utils.calls) == 1, f"{state_file}.{fname} called the engine {len(utils.calls)} times"
        call_kwargs = utils.calls[0][1]
        for hook in ("read", "diff", "apply"):
            assert callable(call_kwargs.get(hook)), f"{state_file}.{fname}: no {hook}"
        assert "test" in call_kwargs


def _calls(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            key = node.slice.value if isinstance(node.slice, ast.Constant) else ast.unparse(
                node.slice)
            yield node.value.id, key, node


@pytest.mark.parametrize("path", CODE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_libraries_through_the_accessor_and_commands_through_the_runner(path):
    tree = ast.parse(path.read_text())
    accessor = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_u"]
    inside = {id(n) for a in accessor for n in ast.walk(a)}
    for dunder, key, node in _calls(tree):
        if dunder == "__utils__":
            assert id(node) in inside, (
                f"{path.name}:{node.lineno}: __utils__[{key!r}] outside _u()")
    runner_args = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Call) \
                and node.func.args and isinstance(node.func.args[0], ast.Constant) \
                and node.func.args[0].value == "ohaf_cmd.run" and node.args:
            runner_args.add(id(node.args[0]))
    for dunder, key, node in _calls(tree):
        if dunder == "__salt__" and key in ("cmd.run_all", "cmd.run", "cmd.run_stdout"):
            assert id(node) in runner_args, (
                f"{path.name}:{node.lineno}: __salt__[{key!r}] called outside ohaf_cmd.run")


def test_the_engine_check_fails_on_a_hand_written_state(tmp_path, monkeypatch):
    """The check above is real: a state with its own return path is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def present(name):\n"
                   "    return {'name': name, 'result': True, 'changes': {}, 'comment': ''}\n")
    spec = importlib.util.spec_from_file_location("onehaext_engine_check_bad", bad)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.__utils__ = Recorder()
    assert mod.present("x") is not mod.__utils__.sentinel
    assert "onehaext_engine_check_bad" not in sys.modules
