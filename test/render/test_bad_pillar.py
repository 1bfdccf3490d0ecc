"""The bad-pillar catalogue (test/pillar/bad/*.yaml): every case must fail the render with a
message line that starts with the exact key path, names the value and what is allowed.
Every case is checked against common/model.py's build() (the pure function, fast);
the one-case files also render in-process through Salt's own Jinja renderer and its `py`
renderer (the path a minion takes); two of them go through a real `salt-call --local`.

A file holds one case (`error:` + `pillar:` overrides merged on pillar.example, a null there
deletes the key) or a list of them under `cases:`; `nulls: [key:path]` sets keys to null after
the merge, `minion_id:`/`grains:` change the minion. test_every_schema_key_has_a_bad_case
walks the declared schema: a key without a case fails it."""
import importlib.util
import pathlib
import re

import pytest
import salt.exceptions
import yaml

from conftest import REPO, deep_merge, example_pillar, render_model

BAD_DIR = pathlib.Path(__file__).parent.parent / "pillar" / "bad"
BAD = sorted(BAD_DIR.glob("*.yaml"))


def load_model():
    spec = importlib.util.spec_from_file_location("onehaformula_model", REPO / "common/model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def set_null(pillar, path):
    *parents, last = path.split(":")
    cur = pillar
    for key in parents:
        cur = cur.setdefault(key, {})
    cur[last] = None


def build_case(case):
    pillar = deep_merge(example_pillar(), case.get("pillar") or {})
    for path in case.get("nulls") or []:
        set_null(pillar, path)
    return pillar


def all_cases(single_only=False):
    out = []
    for path in BAD:
        data = yaml.safe_load(path.read_text())
        if "cases" in data:
            if not single_only:
                out += [pytest.param(case, id=f"{path.stem}[{i}]") for i, case in enumerate(data["cases"])]
        else:
            out.append(pytest.param(data, id=path.stem))
    return out


CASES = all_cases()
SINGLE = all_cases(single_only=True)
MODEL = load_model()
DEFAULTS = yaml.safe_load((REPO / "common/settings.yaml").read_text())


def test_catalogue_is_large_enough():
    assert len(CASES) >= 300


def test_example_pillar_is_valid():
    model = render_model(example_pillar())
    assert model["roles"] == ["frontend", "storage_server"]


@pytest.mark.parametrize("case", CASES)
def test_bad_pillar_is_refused_by_the_model(case):
    grains = dict(case.get("grains") or {}, id=case.get("minion_id", "cloud-cc01"))
    grains.setdefault("os_family", "Debian")
    model = MODEL.build(build_case(case), grains, DEFAULTS)
    errors = model.get("errors")
    assert errors, "the model accepted the bad pillar"
    # the expected text starts a message line: the key path is exact, not a suffix of another
    assert any(e.startswith(case["error"]) for e in errors), errors
    assert all("; allowed: " in e and "Traceback" not in e for e in errors), errors


@pytest.mark.parametrize("case", SINGLE)
def test_bad_pillar_fails_the_render(case):
    pillar = build_case(case)
    with pytest.raises(salt.exceptions.SaltRenderError) as exc:
        render_model(pillar, minion_id=case.get("minion_id", "cloud-cc01"), grains=case.get("grains"))
    message = str(exc.value)
    assert "invalid pillar for minion" in message
    assert "\n  - " + case["error"] in message


def schema_key(error_path):
    """cluster:frontends:cloud-cc01:san -> parts without list indexes."""
    return re.sub(r"\[[0-9]+\]", "", error_path).split(":")


def test_every_schema_key_has_a_bad_case():
    model = load_model()
    covered = [schema_key(c.values[0]["error"].split(": ")[0]) for c in CASES]
    missing = []
    for declared in model.schema_paths():
        spec = model.SCHEMA
        for part in declared.split(":"):
            spec = spec.keys[part] if spec.kind == "map" else spec.value
        if spec.kind == "any" and spec.nullable:
            continue  # accepts anything at all (crm state arguments): nothing to refuse
        want = declared.split(":")
        if not any(len(c) == len(want) and all(w in ("*", p) for w, p in zip(want, c)) for c in covered):
            missing.append(declared)
    assert not missing, f"declared pillar keys without a bad case in test/pillar/bad: {missing}"


@pytest.mark.render
@pytest.mark.parametrize("name", ["01-unknown-variant", "11-secret-placeholder"])
def test_bad_pillar_fails_real_salt_call(salt_call, name):
    case = yaml.safe_load((BAD_DIR / f"{name}.yaml").read_text())
    salt_call.configure(minion_id="cloud-cc01", pillar=build_case(case))
    proc, data = salt_call.run("state.show_highstate", check=False)
    assert proc.returncode != 0
    assert case["error"] in proc.stdout
    # the secret value itself never appears, only its key
    assert "test-only" not in proc.stdout
