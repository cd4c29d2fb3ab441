"""Retriever contract: POST /v1/search (single and batched) and POST /v1/rerank."""

from __future__ import annotations

from pydantic import Field

from services.common.contracts.base import Contract, Question
from services.common.contracts.collections import CollectionName, Filters, MetadataValue
from services.common.contracts.vocabulary import SearchMode

K = Field(default=10, ge=1, le=100, description="How many passages to return.")


class Passage(Contract):
    id: str = Field(min_length=1, max_length=200, description="Stable passage id from the corpus.")
    title: str = Field(max_length=500)
    text: str = Field(min_length=1, max_length=20_000)
    score: float | None = Field(default=None, description="Retrieval score; higher is better.")
    metadata: dict[str, MetadataValue] | None = Field(default=None, description="Given at ingestion; what filters match.")


def evidence_text(title: str, text: str) -> str:
    """A passage as a reader (the guard, the evaluation) judges it: the title gives the topic."""
    return f"{title}. {text}" if title else text


COLLECTION = Field(default=None, description="The collection to search; default: the retriever's default (demo).")


class SearchRequest(Contract):
    query: Question
    k: int = K
    collection: CollectionName | None = COLLECTION
    filters: Filters | None = None
    mode: SearchMode = Field(
        default="hybrid",
        description="'plaid': ColBERT end to end; 'bm25': BM25 only; "
        "'hybrid': BM25 candidates re-ranked by exact ColBERT MaxSim, fused with PLAID results.",
    )


class BatchSearchRequest(Contract):
    queries: list[Question] = Field(min_length=1, max_length=64)
    k: int = K
    collection: CollectionName | None = COLLECTION
    filters: Filters | None = None
    mode: SearchMode = "hybrid"


class SearchResult(Contract):
    passages: list[Passage]
    index_version: str
    timings_ms: dict[str, float] = Field(description="Per stage: queue, encode, search, total.")


class BatchSearchResult(Contract):
    results: list[SearchResult]


class IndexInfo(Contract):
    """GET /v1/index: what the answer cache keys on, the version of the index being served."""
    index_version: str
    passages: int = Field(ge=0)
    encoding: str


class RerankRequest(Contract):
    query: Question
    passages: list[Passage] = Field(min_length=1, max_length=100)


class RerankResult(Contract):
    passages: list[Passage] = Field(description="The given passages, best first, `score` = MaxSim.")
    timings_ms: dict[str, float]


class ReloadRequest(Contract):
    """POST /v1/admin/reload."""
    index: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                              description="An index name under RETRIEVER_INDEX_ROOT; default: the configured index.")


class ReloadResult(Contract):
    index_version: str
    index_dir: str
    took_ms: float
