"""A built index, loaded read-only: PLAID search, BM25, exact MaxSim over given passages, hybrid.

Not thread-safe (colbert-ai's Searcher keeps per-call settings in its config): the search
worker calls it from one thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from services.common.contracts.collections import MetadataValue
from services.common.contracts.search import Passage
from services.common.contracts.vocabulary import SearchMode
from services.common.corpus import iter_passages
from services.common.errors import LoadFailed
from services.retriever.bm25 import Bm25Index
from services.retriever.encoding import Precision, configure_checkpoint, passage_text
from services.retriever.manifest import BM25_DIR, PASSAGES_FILE, PLAID_DIR, IndexManifest

@dataclass(frozen=True)
class SearchTuning:
    hybrid_candidates: int = 100  # BM25 candidates re-ranked by exact MaxSim in hybrid mode
    # PLAID candidate generation, by k (colbert-ai's own defaults for k <= 10 and k <= 100).
    ncells_small_k: int = 1
    ncells_large_k: int = 2


# With a filter, up to this many matching passages are ranked by exact MaxSim (the best ranking there
# is, ~1 ms per 100 passages on 2 cores); beyond it PLAID's candidates are filtered.
EXACT_FILTER_LIMIT = 4096


def matches(metadata: dict[str, MetadataValue] | None, filters: dict[str, MetadataValue]) -> bool:
    """Every filter field holds: the passage's value equals the filter's, or is in the filter's list
    (a list-valued passage field holds when any of its values does)."""
    metadata = metadata or {}
    for field, wanted in filters.items():
        if field not in metadata:
            return False
        held = metadata[field]
        held_values = held if isinstance(held, list) else [held]
        wanted_values = wanted if isinstance(wanted, list) else [wanted]
        # bool is an int in Python: compare (type, value) so that true never matches 1.
        if not {(type(v), v) for v in held_values} & {(type(v), v) for v in wanted_values}:
            return False
    return True


class IndexLoadError(LoadFailed):
    """The index is missing, incomplete or does not fit the checkpoint."""


class RetrieverIndex:
    def __init__(self, index_dir: Path, checkpoint: Path, precision: Precision, tuning: SearchTuning) -> None:
        self.index_dir = index_dir
        self.checkpoint_path = checkpoint
        self.precision = precision
        self.tuning = tuning
        self.manifest: IndexManifest | None = None
        self.passages: list[Passage] = []
        self._searcher = None  # colbert-ai's Searcher; None for an index without its dense part

    def load(self) -> str:
        try:
            self.manifest = IndexManifest.read(self.index_dir)
            self.passages = list(iter_passages(self.index_dir / PASSAGES_FILE))
            if len(self.passages) != self.manifest.passages:
                raise IndexLoadError(f"{self.index_dir}: manifest says {self.manifest.passages} passages, found {len(self.passages)}")
            self._searcher = self._load_searcher() if self.manifest.dense else None
            self._bm25 = Bm25Index(self.index_dir / BM25_DIR)
        except IndexLoadError:
            raise
        except FileNotFoundError as exc:
            raise IndexLoadError(str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 - colbert-ai fails with assorted errors on a broken index
            raise IndexLoadError(f"cannot load the index at {self.index_dir}: {type(exc).__name__}: {exc}") from exc
        self.search_many(["warm up"], 1, self.mode_for("hybrid"))
        if not self.dense:
            return (f"{self.manifest.passages} passages, version {self.manifest.index_version}, BM25 only "
                    "until the dense index is built")
        return f"{self.manifest.passages} passages, version {self.manifest.index_version}, {self.manifest.encoding} encoding"

    def _load_searcher(self):  # noqa: ANN202 - colbert Searcher
        from colbert import Searcher
        from colbert.infra import ColBERTConfig

        if not (self.checkpoint_path / "config.json").is_file():
            raise IndexLoadError(f"no checkpoint at {self.checkpoint_path}")
        texts = [passage_text(p.title, p.text) for p in self.passages]
        searcher = Searcher(
            index=str(self.index_dir / PLAID_DIR),
            checkpoint=str(self.checkpoint_path),  # the metadata holds the indexing-time path
            collection=texts,
            config=ColBERTConfig(query_maxlen=self.manifest.query_maxlen, gpus=0),
            verbose=0,
        )
        configure_checkpoint(searcher.checkpoint, self.manifest.encoding, self.precision)
        return searcher

    @property
    def version(self) -> str:
        return self.manifest.index_version if self.manifest else "none"

    @property
    def dense(self) -> bool:
        return self._searcher is not None

    def mode_for(self, mode: SearchMode) -> SearchMode:
        """The mode a search runs in: BM25 while the index has no dense part."""
        return mode if self.dense else "bm25"

    def encode(self, queries: list[str]) -> torch.Tensor:
        return self._searcher.encode(queries)

    def plaid(self, query_embedding: torch.Tensor, k: int) -> list[tuple[int, float]]:
        large = k > 10
        self._searcher.configure(
            ncells=self.tuning.ncells_large_k if large else self.tuning.ncells_small_k,
            centroid_score_threshold=0.45 if large else 0.5,
            ndocs=max(1024 if large else 256, 4 * k),
        )
        pids, _ranks, scores = self._searcher.dense_search(query_embedding.unsqueeze(0), k)
        return list(zip(pids, scores, strict=True))

    def exact(self, query_embedding: torch.Tensor, pids: list[int]) -> list[tuple[int, float]]:
        """Exact MaxSim of the query against the given passages' stored embeddings, best first."""
        if not pids:
            return []
        ranked, scores = self._searcher.ranker.rank(self._searcher.config, query_embedding.unsqueeze(0), pids=pids)
        return list(zip(ranked, scores, strict=True))

    def bm25(self, query: str, k: int) -> list[tuple[int, float]]:
        return self._bm25.search(query, k)

    def hybrid(self, query: str, query_embedding: torch.Tensor, k: int) -> list[tuple[int, float]]:
        """BM25 candidates re-ranked by exact MaxSim, fused with PLAID's results.

        PLAID's final scores are exact MaxSim over the same stored embeddings, so both lists share
        one scale: the fusion is their union ordered by MaxSim. On the 1,800 NQ-open dev questions
        this beat reciprocal rank fusion of the two lists (recall@10 0.282 vs 0.277; PLAID 0.277,
        BM25 0.226).
        """
        plaid = self.plaid(query_embedding, max(k, 20))
        reranked = self.exact(query_embedding, [pid for pid, _ in self.bm25(query, self.tuning.hybrid_candidates)])
        fused = dict(reranked) | dict(plaid)
        return sorted(fused.items(), key=lambda item: item[1], reverse=True)[:k]

    def search_encoded(self, query: str, embedding: torch.Tensor | None, k: int, mode: SearchMode,
                       filters: dict[str, MetadataValue] | None = None) -> list[Passage]:
        """Ranked passages for one query whose embedding was computed by `encode` (None for bm25)."""
        if filters:
            ranked = self.filtered(query, embedding, k, mode, filters)
        elif mode == "bm25":
            ranked = self.bm25(query, k)
        elif mode == "plaid":
            ranked = self.plaid(embedding, k)
        else:
            ranked = self.hybrid(query, embedding, k)
        return [self.passages[pid].model_copy(update={"score": round(score, 6)}) for pid, score in ranked]

    def filtered(self, query: str, embedding: torch.Tensor | None, k: int, mode: SearchMode,
                 filters: dict[str, MetadataValue]) -> list[tuple[int, float]]:
        allowed = [pid for pid, passage in enumerate(self.passages) if matches(passage.metadata, filters)]
        if not allowed:
            return []
        if mode == "bm25":
            allowed_set = set(allowed)
            return [(pid, score) for pid, score in self.bm25(query, len(self.passages)) if pid in allowed_set][:k]
        if len(allowed) <= EXACT_FILTER_LIMIT:
            return self.exact(embedding, allowed)[:k]
        mask = torch.zeros(len(self.passages), dtype=torch.bool)
        mask[allowed] = True
        self._searcher.configure(ncells=self.tuning.ncells_large_k, centroid_score_threshold=0.45, ndocs=max(1024, 4 * k))
        pids, _ranks, scores = self._searcher.dense_search(embedding.unsqueeze(0), k,
                                                           filter_fn=lambda candidates: candidates[mask[candidates.long()]])
        return list(zip(pids, scores, strict=True))

    def search_many(self, queries: list[str], k: int, mode: SearchMode) -> list[list[Passage]]:
        """One ranked passage list per query; the queries are encoded together."""
        embeddings = list(self.encode(queries)) if mode != "bm25" else [None] * len(queries)
        return [self.search_encoded(q, e, k, mode) for q, e in zip(queries, embeddings, strict=True)]

    def rerank(self, query: str, passages: list[Passage]) -> list[Passage]:
        """Exact MaxSim of the query against passages given as text (they need not be in the index)."""
        from colbert.modeling.colbert import colbert_score

        checkpoint = self._searcher.checkpoint
        query_embedding = self.encode([query])
        ids, attention = checkpoint.doc_tokenizer.tensorize([passage_text(p.title, p.text) for p in passages])
        docs, mask = checkpoint.doc(ids, attention, keep_dims="return_mask")
        scores = colbert_score(query_embedding, docs.float(), mask, config=self._searcher.config).tolist()
        order = sorted(range(len(passages)), key=lambda i: scores[i], reverse=True)
        return [passages[i].model_copy(update={"score": round(scores[i], 6)}) for i in order]
