"""Packaged generator models beyond SmolLM2: joined from their parts with a hash check, and prepared
only when something serves them or an adapter is merged into them."""

import hashlib
import json

import pytest

from ninjarag.errors import UserError
from ninjarag.prepare import generator_models, model_folders
from ninjarag.prepare.generator_models import PackagedModel, join_gguf
from ninjarag.prepare.steps import build_steps, models_to_prepare
from services.common.paths import DEFAULT_GENERATOR_MODEL, Home

QWEN = generator_models.QWEN25_CODER_05B.name
SMOLLM2 = generator_models.TEST_MODEL.name


def _parts(target, contents):
    names = []
    for number, content in enumerate(contents, start=1):
        path = target / f"pkg{number}" / "data" / f"part{number:02d}.bin"
        path.parent.mkdir(parents=True)
        path.write_bytes(content)
        names.append(str(path.relative_to(target)))
    return tuple(names)


def test_parts_are_joined_in_order_once_their_hash_matches(tmp_path):
    contents = [b"GGUF" + b"a" * 3000, b"b" * 2000, b"c" * 10]
    parts = _parts(tmp_path / "packages", contents)
    model = PackagedModel("m", {}, parts, hashlib.sha256(b"".join(contents)).hexdigest())
    joined = join_gguf(model, tmp_path / "packages", tmp_path / "cache" / "m.gguf")
    assert joined.read_bytes() == b"".join(contents)


def test_a_wrong_hash_names_both_hashes_and_leaves_nothing_behind(tmp_path):
    parts = _parts(tmp_path / "packages", [b"one", b"two"])
    model = PackagedModel("m", {"pkg-part1": "1.0"}, parts, "0" * 64)
    out = tmp_path / "cache" / "m.gguf"
    with pytest.raises(UserError) as raised:
        join_gguf(model, tmp_path / "packages", out)
    assert hashlib.sha256(b"onetwo").hexdigest() in str(raised.value) and "0" * 64 in str(raised.value)
    assert "rerun `ninjarag prepare`" in str(raised.value)
    assert list(out.parent.iterdir()) == []


def test_a_missing_part_says_what_to_do(tmp_path):
    model = PackagedModel("m", {}, ("pkg/data/part01.bin", "pkg/data/part02.bin"), "0" * 64)
    with pytest.raises(UserError, match="rerun `ninjarag prepare`"):
        join_gguf(model, tmp_path, tmp_path / "m.gguf")


def _step_names(home, models):
    return [step.name for step in build_steps(home, models)]


def test_only_smollm2_is_built_unless_another_is_served_or_named(tmp_path):
    home = Home(tmp_path)
    assert f"model:{QWEN}" not in _step_names(home, models_to_prepare([], SMOLLM2))
    assert f"model:{SMOLLM2}" in _step_names(home, models_to_prepare([], SMOLLM2))
    for served in (models_to_prepare([QWEN], SMOLLM2), models_to_prepare([], QWEN),
                   models_to_prepare([], SMOLLM2, [f"model:{QWEN}"])):
        names = _step_names(home, served)
        assert f"model:{QWEN}" in names and f"model:{SMOLLM2}" in names


def test_the_default_served_model_is_a_committed_fine_tune_built_after_its_base(tmp_path):
    names = _step_names(Home(tmp_path), models_to_prepare([], DEFAULT_GENERATOR_MODEL))
    base = model_folders.base_of(DEFAULT_GENERATOR_MODEL).name
    assert names.index("data-packages") < names.index(f"model:{base}") < names.index(f"model:{DEFAULT_GENERATOR_MODEL}")


def test_the_demo_leaves_out_what_only_the_tests_need(tmp_path):
    names = [step.name for step in build_steps(Home(tmp_path), models_to_prepare([], DEFAULT_GENERATOR_MODEL),
                                               for_tests=False)]
    assert "chromium" not in names and f"model:{SMOLLM2}" not in names
    assert f"model:{DEFAULT_GENERATOR_MODEL}" in names


def test_an_unknown_model_name_lists_what_can_be_built(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NINJARAG_HOME", str(tmp_path))
    monkeypatch.setenv("GENERATOR_MODEL", "no-such-model")
    assert model_folders.main([]) == 2
    error = capsys.readouterr().err
    assert "no generator model 'no-such-model'" in error and SMOLLM2 in error and DEFAULT_GENERATOR_MODEL in error
    assert not (tmp_path / "models").exists()


def test_a_container_build_keeps_built_folders_and_merges_onto_the_adapters_own_base(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(model_folders, "build_base", lambda home, model: calls.append(("base", model.name)))
    monkeypatch.setattr(model_folders, "build_tuned", lambda home, adapter: calls.append(("tuned", adapter.name)))
    home = Home(tmp_path)
    (home.models / SMOLLM2).mkdir(parents=True)
    (home.models / SMOLLM2 / "config.json").write_text("{}")
    model_folders.build(home, SMOLLM2)
    model_folders.build(home, DEFAULT_GENERATOR_MODEL)
    assert calls == [("base", QWEN), ("tuned", DEFAULT_GENERATOR_MODEL)]


def test_merging_an_adapter_builds_its_base_model_first(tmp_path, monkeypatch):
    adapters = tmp_path / "adapters"
    (adapters / "qwen-tuned").mkdir(parents=True)
    (adapters / "qwen-tuned" / "manifest.json").write_text(json.dumps({"name": "qwen-tuned", "base_model": QWEN}))
    monkeypatch.setattr("ninjarag.prepare.steps.ADAPTERS_DIR", adapters)
    monkeypatch.setattr("ninjarag.prepare.model_folders.ADAPTERS_DIR", adapters)
    names = _step_names(Home(tmp_path), {"qwen-tuned"})
    assert names.index(f"model:{QWEN}") < names.index("model:qwen-tuned")


def test_every_packaged_model_pins_its_packages_and_parts():
    for model in generator_models.PACKAGED_MODELS.values():
        assert model.pypi and all(version for version in model.pypi.values())
        assert model.gguf_parts
        assert len(model.gguf_parts) == 1 or model.gguf_sha256  # joined parts are always checked
