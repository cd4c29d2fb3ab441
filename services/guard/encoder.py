"""Sentence embeddings from the packaged MiniLM encoder (mean pooling, unit length), with an LRU
cache: an answer's sentences are checked one by one against the same passages, whose sentences
were already embedded when the passages were screened."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import torch

from services.common.cpus import has_native_bf16

CACHE_ENTRIES = 50_000  # about 77 MB of 384-dim vectors
# bench/guard_encoder.py with AMX, one thread, fp32 / bf16 ms: 1 text 9.1 / 9.2, 2 texts 16.9 / 18.7,
# 4 texts 29.4 / 23.8, 32 texts 425 / 152.
BF16_MIN_TEXTS = 4
ENCODE_BATCH = 16


class SentenceEncoder:
    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self._tokenizer = None
        self._model = None
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()
        # bf16 only where the CPU computes it natively: emulated, it is about 6x slower than fp32.
        # Even native, it only pays from a few texts on (not for an answer sentence); the two give the same
        # embeddings to about 4 decimals (bench/guard_encoder.py), so a cached vector may come from either.
        self._bf16 = has_native_bf16()

    def warm_up(self) -> str:
        from transformers import AutoModel, AutoTokenizer

        if not (self.model_path / "config.json").is_file():
            raise FileNotFoundError(f"no encoder at {self.model_path}; run `ninjarag prepare`")
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
        self._model = AutoModel.from_pretrained(self.model_path, local_files_only=True).eval()
        self.encode(["warm up"])
        return self.model_path.name

    def encode(self, texts: list[str]) -> torch.Tensor:
        """[len(texts), dim] unit vectors; cosine similarity is their dot product."""
        if not texts:
            return torch.empty(0, self._model.config.hidden_size)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._encode_by_length(missing)
            with self._lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > CACHE_ENTRIES:
                    self._cache.popitem(last=False)
        with self._lock:
            found = []
            for text in texts:
                self._cache.move_to_end(text)
                found.append(self._cache[text])
        return torch.stack(found)

    def _encode_by_length(self, texts: list[str]) -> torch.Tensor:
        """In batches of similar length: a batch pads every text to its longest, and screening mixes
        1,000-character windows with short sentences (a fresh passage set: 423 -> 199 ms, AMX)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = torch.empty(len(texts), self._model.config.hidden_size)
        for start in range(0, len(order), ENCODE_BATCH):
            chunk = order[start:start + ENCODE_BATCH]
            vectors[chunk] = self._encode([texts[i] for i in chunk])
        return vectors

    @torch.inference_mode()
    def _encode(self, texts: list[str]) -> torch.Tensor:
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._bf16 and len(texts) >= BF16_MIN_TEXTS):
            hidden = self._model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1)
