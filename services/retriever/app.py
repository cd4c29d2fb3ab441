"""Retriever app factory: /v1/search (single and batched), /v1/rerank, /v1/admin/reload."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from pydantic import BaseModel, Field

from services.common.app import ReadinessState, build_service_app
from services.common.contracts.base import Contract
from services.common.contracts.search import (
    BatchSearchRequest,
    BatchSearchResult,
    IndexInfo,
    RerankRequest,
    RerankResult,
    SearchRequest,
    SearchResult,
)
from services.common.errors import NinjaragError
from services.retriever.batching import SearchWorker
from services.retriever.settings import RetrieverSettings

log = logging.getLogger(__name__)


class IndexUnavailable(NinjaragError):
    type, title, status = "index_unavailable", "The search index is not loaded", 503


class ReloadFailed(NinjaragError):
    type, title, status = "reload_failed", "The requested index could not be loaded", 422


class ReloadConflict(NinjaragError):
    type, title, status = "reload_in_progress", "Another reload is running", 409


class ReloadRequest(Contract):
    index: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
                              description="An index name under RETRIEVER_INDEX_ROOT; default: the configured index.")


class ReloadResult(BaseModel):
    index_version: str
    index_dir: str
    took_ms: float


def create_app(settings: RetrieverSettings) -> FastAPI:
    settings.apply_cpu_threads()
    # colbert-ai compiles its C++ extensions here; `ninjarag prepare` fills it beforehand.
    os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(settings.torch_extensions_dir))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    readiness = ReadinessState("index")
    worker = SearchWorker(settings.max_batch, settings.batch_wait_ms, settings.max_queued)
    reload_lock = asyncio.Lock()

    def open_index(index_dir: Path):  # noqa: ANN202 - RetrieverIndex, imported lazily (torch, colbert)
        from services.retriever.encoding import resolve_precision
        from services.retriever.index import RetrieverIndex, SearchTuning

        index = RetrieverIndex(index_dir, settings.checkpoint_path, resolve_precision(settings.precision),
                               SearchTuning(hybrid_candidates=settings.hybrid_candidates))
        return index, index.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.index = None
        worker.start()

        async def load_at_start() -> None:
            try:
                app.state.index, detail = await worker.run_in_worker(open_index, settings.index_dir)
                readiness.mark_ok("index", detail)
            except Exception as exc:  # noqa: BLE001 - reported by /readyz and as 503 on search
                log.error("index not loaded: %s", exc)
                readiness.mark_failed("index", str(exc))

        loading = asyncio.create_task(load_at_start())
        yield
        loading.cancel()
        await worker.stop()

    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    app = build_service_app("retriever", settings, readiness=readiness, lifespan=lifespan, admin_token=admin_token)

    def current_index(request: Request):  # noqa: ANN202
        index = request.app.state.index
        if index is None:
            checks = readiness.report("retriever").checks["index"]
            raise IndexUnavailable(f"index at {settings.index_dir}: {checks}", retry_after_s=5)
        return index

    async def run_search(request: Request, queries: list[str], k: int, mode: str) -> list[SearchResult]:
        started = time.perf_counter()
        index = current_index(request)
        outcome = await worker.search(index, queries, k, mode)
        total = round((time.perf_counter() - started) * 1000, 2)
        return [
            SearchResult(passages=passages, index_version=index.version, timings_ms={**outcome.timings_ms, "total": total})
            for passages in outcome.passages
        ]

    @app.post("/v1/search", response_model=SearchResult, response_model_exclude_none=True)
    async def search(body: SearchRequest, request: Request) -> SearchResult:
        return (await run_search(request, [body.query], body.k, body.mode))[0]

    @app.post("/v1/search/batch", response_model=BatchSearchResult, response_model_exclude_none=True)
    async def search_batch(body: BatchSearchRequest, request: Request) -> BatchSearchResult:
        return BatchSearchResult(results=await run_search(request, body.queries, body.k, body.mode))

    @app.post("/v1/rerank", response_model=RerankResult, response_model_exclude_none=True)
    async def rerank(body: RerankRequest, request: Request) -> RerankResult:
        started = time.perf_counter()
        index = current_index(request)
        passages = await worker.run_in_worker(index.rerank, body.query, body.passages)
        return RerankResult(passages=passages, timings_ms={"total": round((time.perf_counter() - started) * 1000, 2)})

    @app.get("/v1/index", response_model=IndexInfo)
    async def index_info(request: Request) -> IndexInfo:
        """What the answer cache keys on: the version of the index being served."""
        index = current_index(request)
        return IndexInfo(index_version=index.version, passages=len(index.passages), encoding=index.manifest.encoding)

    @app.post("/v1/admin/reload", response_model=ReloadResult)
    async def reload(body: ReloadRequest, request: Request) -> ReloadResult:
        """Load an index (default: the configured one, rebuilt) and swap to it; requests in flight finish on the old one."""
        if reload_lock.locked():
            raise ReloadConflict("a reload is already running; wait for it to finish")
        async with reload_lock:
            started = time.perf_counter()
            index_dir = settings.index_root / body.index if body.index else settings.index_dir
            try:
                # Loaded beside the worker thread, so searches keep being served meanwhile.
                index, detail = await asyncio.to_thread(open_index, index_dir)
            except Exception as exc:  # noqa: BLE001 - the old index keeps serving
                log.error("reload of %s failed: %s", index_dir, exc)
                name = body.index or "the configured index"
                raise ReloadFailed(f"{name} could not be loaded (the retriever log says why); "
                                   "still serving the previous index") from None
            request.app.state.index = index
            readiness.mark_ok("index", detail)
            return ReloadResult(index_version=index.version, index_dir=str(index_dir),
                                took_ms=round((time.perf_counter() - started) * 1000, 2))

    return app
