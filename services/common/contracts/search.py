"""Retriever contract: POST /v1/search."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from services.common.contracts.base import Contract, Question, TopK


class Passage(Contract):
    id: str = Field(min_length=1, max_length=200, description="Stable passage id from the corpus.")
    title: str = Field(max_length=500)
    text: str = Field(min_length=1, max_length=20_000)
    score: float | None = Field(default=None, description="Retrieval score; higher is better.")


class SearchRequest(Contract):
    query: Question
    top_k: TopK = 10
    first_stage: Literal["none", "bm25"] = Field(
        default="none",
        description="'bm25': BM25 picks candidates that ColBERT reranks; 'none': ColBERT over the whole index.",
    )


class SearchResponse(Contract):
    passages: list[Passage]
    index_version: str
    took_ms: float
