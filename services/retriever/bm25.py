"""BM25 over the passages (bm25s), as a mode of its own and as the hybrid mode's first stage."""

from __future__ import annotations

from pathlib import Path

STOPWORDS = "en"


class Bm25Index:
    def __init__(self, path: Path) -> None:
        import bm25s

        self._bm25s = bm25s
        self._retriever = bm25s.BM25.load(str(path))
        self._size = int(self._retriever.scores["num_docs"])

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        tokens = self._bm25s.tokenize([query], stopwords=STOPWORDS, return_ids=False, show_progress=False)
        known = [token for token in tokens[0] if token in self._retriever.vocab_dict]
        if not known:
            return []
        pids, scores = self._retriever.retrieve([known], k=min(k, self._size), show_progress=False)
        return [(int(pid), float(score)) for pid, score in zip(pids[0], scores[0], strict=True) if score > 0]
