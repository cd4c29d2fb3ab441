"""The corpus as the retriever serves it: passages by id, read from the prepared JSONL."""

from __future__ import annotations

from pathlib import Path

from services.common.contracts.search import Passage
from services.common.corpus import iter_passages


class PassageStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._by_id: dict[str, Passage] = {}

    def load(self) -> str:
        self._by_id = {passage.id: passage for passage in iter_passages(self.path)}
        return f"{len(self._by_id)} passages"

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, passage_id: str) -> Passage | None:
        return self._by_id.get(passage_id)
