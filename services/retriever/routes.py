"""The retriever's HTTP routes: parse, call the serving class, render."""

from __future__ import annotations

import time

from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.common.contracts.collections import NAME_PATTERN

from services.common.contracts.search import (
    BatchSearchRequest,
    BatchSearchResult,
    IndexInfo,
    ReloadRequest,
    ReloadResult,
    RerankRequest,
    RerankResult,
    SearchRequest,
    SearchResult,
)
from services.retriever.deps import Retriever

router = APIRouter(prefix="/v1")


@router.post("/search", response_model=SearchResult, response_model_exclude_none=True)
async def search(body: SearchRequest, retriever: Retriever) -> SearchResult:
    return (await retriever.search([body.query], body.k, body.mode, body.collection, body.filters))[0]


@router.post("/search/batch", response_model=BatchSearchResult, response_model_exclude_none=True)
async def search_batch(body: BatchSearchRequest, retriever: Retriever) -> BatchSearchResult:
    return BatchSearchResult(results=await retriever.search(body.queries, body.k, body.mode, body.collection,
                                                            body.filters))


@router.post("/rerank", response_model=RerankResult, response_model_exclude_none=True)
async def rerank(body: RerankRequest, retriever: Retriever) -> RerankResult:
    started = time.perf_counter()
    passages = await retriever.rerank(body.query, body.passages)
    return RerankResult(passages=passages, timings_ms={"total": round((time.perf_counter() - started) * 1000, 2)})


@router.get("/index", response_model=IndexInfo)
async def index_info(retriever: Retriever,
                     collection: Annotated[str | None, Query(pattern=NAME_PATTERN)] = None) -> IndexInfo:
    """What the answer cache keys on: the version of the collection's index being served."""
    return retriever.index_info(collection)


@router.post("/admin/reload", response_model=ReloadResult)
async def reload(body: ReloadRequest, request: Request, retriever: Retriever) -> ReloadResult:
    """Load an index (default: the configured one, rebuilt) and swap to it; requests in flight finish on the old one."""
    result, detail = await retriever.reload(body.index)
    request.app.state.readiness.mark_ok("index", detail)
    return result
