"""Where prepared data, models, environments and run state live (NINJARAG_HOME, default ./.ninjarag)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Committed LoRA adapters of fine-tuned generator models: `prepare` merges each into a model folder.
ADAPTERS_DIR = REPO_ROOT / "adapters"
# The generator model served unless GENERATOR_MODEL names another: Qwen2.5-Coder-0.5B with the answer-span
# fine-tune, ahead of the packaged models on served accuracy at a third of SmolLM2's first-sentence
# latency (docs/results/finetune-qwen-v2). Trained on, and served with, the latency packing.
DEFAULT_GENERATOR_MODEL = "qwen2.5-coder-0.5b-nq-v2"


@dataclass(frozen=True)
class Home:
    root: Path

    @classmethod
    def from_env(cls) -> Home:
        return cls(Path(os.environ.get("NINJARAG_HOME", REPO_ROOT / ".ninjarag")).resolve())

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def corpus(self) -> Path:
        return self.data / "corpus.jsonl"

    @property
    def nq_dev(self) -> Path:
        return self.data / "nq_open_dev.jsonl"

    @property
    def nq_train(self) -> Path:
        """The NQ-open dev questions fine-tuning may learn from (ninjarag/prepare/nq.py splits them)."""
        return self.data / "nq_open_dev_train.jsonl"

    @property
    def nq_heldback(self) -> Path:
        """The NQ-open dev questions kept for evaluation: never trained on."""
        return self.data / "nq_open_dev_heldback.jsonl"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def small_model(self) -> Path:
        """SmolLM2-135M-Instruct, which every machine prepares: the tests' real model, quick to load."""
        return self.models / "smollm2-135m-instruct"

    @property
    def finetune(self) -> Path:
        """Fine-tuning data and runs (checkpoints, loss logs); the finished adapters are committed in adapters/."""
        return self.root / "finetune"

    @property
    def encoder_model(self) -> Path:
        return self.models / "all-minilm-l6-v2"

    @property
    def colbert_checkpoint(self) -> Path:
        """The local ColBERT checkpoint: MiniLM in colbert-ai's layout (see services/retriever/build/checkpoint.py)."""
        return self.models / "colbert-minilm"

    @property
    def demo_index(self) -> Path:
        return self.root / "index" / "demo"

    @property
    def collections(self) -> Path:
        """Ingested collections: their documents, indexes and jobs (services/retriever/collection_store.py)."""
        return self.root / "collections"

    @property
    def torch_extensions(self) -> Path:
        """colbert-ai's C++ extensions, compiled once by `prepare` instead of at the first request."""
        return self.cache / "torch_extensions"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def venvs(self) -> Path:
        return self.root / "venvs"

    def venv(self, name: str) -> Path:
        return self.venvs / name

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def logs(self) -> Path:
        return self.run / "logs"

    @property
    def cache(self) -> Path:
        """Caches that tools would otherwise scatter in ~/.cache and /tmp (vLLM, torch extensions)."""
        return self.root / "cache"
