"""Sentence embeddings from the packaged MiniLM encoder (mean pooling, unit length)."""

from __future__ import annotations

from pathlib import Path

import torch


class SentenceEncoder:
    def __init__(self, model_path: Path) -> None:
        self.model_path = model_path
        self._tokenizer = None
        self._model = None

    def warm_up(self) -> str:
        from transformers import AutoModel, AutoTokenizer

        if not (self.model_path / "config.json").is_file():
            raise FileNotFoundError(f"no encoder at {self.model_path}; run `ninjarag prepare`")
        self._tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
        self._model = AutoModel.from_pretrained(self.model_path, local_files_only=True).eval()
        self.encode(["warm up"])
        return self.model_path.name

    @torch.inference_mode()
    def encode(self, texts: list[str]) -> torch.Tensor:
        """[len(texts), dim] unit vectors; cosine similarity is their dot product."""
        if not texts:
            return torch.empty(0, self._model.config.hidden_size)
        batch = self._tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            hidden = self._model(**batch).last_hidden_state.float()
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1)
