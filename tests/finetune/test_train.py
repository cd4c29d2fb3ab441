"""LoRA training on the real base model: a few tiny steps, interrupted and resumed, then merged
into a model folder with every hash checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ninjarag.finetune import merge, train
from ninjarag.finetune.data import Example, write_dataset
from ninjarag.finetune.recipe import DEFAULT_RECIPE, Recipe


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, tokenizer) -> tuple[Recipe, Path]:
    """Four short examples rendered like the real ones; one optimizer step per two examples."""
    folder = tmp_path_factory.mktemp("tiny")
    recipe_text = DEFAULT_RECIPE.read_text().replace("grad_accumulation = 8", "grad_accumulation = 2")
    recipe_text = recipe_text.replace("checkpoint_every = 10", "checkpoint_every = 1")
    (folder / "recipe.toml").write_text(recipe_text)
    recipe = Recipe.load(folder / "recipe.toml")
    examples = []
    for number in range(4):
        prompt = tokenizer.apply_chat_template([{"role": "user", "content": f"Question {number}?"}],
                                               tokenize=False, add_generation_prompt=True)
        examples.append(Example("test", f"Question {number}?", [], f"Answer {number} [1].",
                                tokenizer.encode(prompt, add_special_tokens=False),
                                tokenizer.encode(f"Answer {number} [1].<|im_end|>", add_special_tokens=False)))
    write_dataset(examples, recipe, folder / "data")
    return recipe, folder


@pytest.fixture(scope="module")
def tokenizer(home):
    from services.generator.model_folder import load_tokenizer

    return load_tokenizer(home.small_model)


def test_training_stops_for_time_resumes_and_exports_an_adapter(tiny):
    recipe, folder = tiny
    run, out = folder / "run", folder / "adapter"
    # A budget of a few milliseconds: the first step runs, is checkpointed, and training stops.
    assert train.train(recipe, folder / "data", run, out, max_minutes=1e-6) == 3
    assert not out.exists()
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step-000001"]
    assert train.train(recipe, folder / "data", run, out, max_minutes=None) == 0
    steps = [json.loads(line)["step"] for line in (run / "loss.jsonl").open()]
    assert steps == [1, 2]  # the second run went on from step 1, it did not start over
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["steps"] == 2 and manifest["examples_seen"] == 4
    assert manifest["recipe_sha256"] == recipe.sha256 and manifest["final_loss"] > 0


def test_a_checkpoint_of_another_dataset_is_refused(tiny):
    recipe, folder = tiny
    other = folder / "other-data"
    shutil.copytree(folder / "data", other)
    manifest = json.loads((other / "manifest.json").read_text())
    (other / "examples.jsonl").write_text((other / "examples.jsonl").read_text().replace("Answer 0", "Answer 9"))
    manifest["examples_sha256"] = train.sha256_of(other / "examples.jsonl")
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="another recipe or dataset"):
        train.train(recipe, other, folder / "run", folder / "adapter-2", max_minutes=None)


def test_a_half_written_dataset_is_refused(tiny, tmp_path):
    _, folder = tiny
    shutil.copytree(folder / "data", tmp_path / "data")
    with (tmp_path / "data" / "examples.jsonl").open("a") as examples:
        examples.write('{"prompt_ids": [1]')
    with pytest.raises(ValueError, match="does not match its manifest"):
        train.load_examples(tmp_path / "data")


def test_merge_builds_a_model_folder_and_stops_on_a_hash_mismatch(tiny, home, tmp_path):
    recipe, folder = tiny
    adapter = folder / "adapter"
    merged = merge.merge(home.small_model, adapter, tmp_path / "tuned")
    assert merged["name"] == recipe.name
    assert (tmp_path / "tuned" / "model.safetensors").is_file()
    assert (tmp_path / "tuned" / merge.PROVENANCE_FILE).is_file()
    manifest = json.loads((adapter / "manifest.json").read_text())
    manifest["base_weights_sha256"] = "0" * 64
    (adapter / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(merge.HashMismatch, match="0000000000") as raised:
        merge.check_hashes(home.small_model, adapter)
    assert train.sha256_of(home.small_model / "model.safetensors") in str(raised.value)
