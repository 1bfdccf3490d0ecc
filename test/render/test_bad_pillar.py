"""The bad-pillar catalogue (test/pillar/bad/*.yaml): every case must fail the render with a
message naming the key path and what is allowed. Rendered in-process through Salt's own
Jinja renderer (fast); two cases also go through a real `salt-call --local` end to end."""
import pathlib

import pytest
import salt.exceptions
import yaml

from conftest import deep_merge, example_pillar, render_model

BAD = sorted((pathlib.Path(__file__).parent.parent / "pillar" / "bad").glob("*.yaml"))


def load_case(path):
    case = yaml.safe_load(path.read_text())
    return case, deep_merge(example_pillar(), case.get("pillar") or {})


def test_catalogue_is_large_enough():
    assert len(BAD) >= 20


def test_example_pillar_is_valid():
    model = render_model(example_pillar())
    assert model["roles"] == ["frontend", "storage_server"]


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_pillar_fails_with_key_and_allowed(path):
    case, pillar = load_case(path)
    with pytest.raises(salt.exceptions.SaltRenderError) as exc:
        render_model(pillar, minion_id=case.get("minion_id", "cloud-cc01"), grains=case.get("grains"))
    message = str(exc.value)
    assert "invalid pillar" in message
    assert case["error"] in message


@pytest.mark.render
@pytest.mark.parametrize("name", ["01-unknown-variant", "11-secret-placeholder"])
def test_bad_pillar_fails_real_salt_call(salt_call, name):
    case, pillar = load_case(pathlib.Path(__file__).parent.parent / "pillar" / "bad" / f"{name}.yaml")
    salt_call.configure(minion_id="cloud-cc01", pillar=pillar)
    proc, data = salt_call.run("state.show_highstate", check=False)
    assert proc.returncode != 0
    assert case["error"] in proc.stdout
    # the secret value itself never appears, only its key
    assert "test-only" not in proc.stdout
