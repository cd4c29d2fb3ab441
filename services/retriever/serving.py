"""The retriever's serving class: the index being served, the search worker that batches queries
onto it, and reloads that swap in a new index while searches go on. Light to construct;
`warm_up` starts the worker and loads the configured index; `aclose` stops the worker."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from services.common.contracts.collections import CollectionInfo, MetadataValue
from services.common.contracts.search import (
    IndexInfo,
    Passage,
    ReloadResult,
    SearchResult,
)
from services.common.contracts.vocabulary import SearchMode
from services.common.errors import NinjaragError
from services.retriever.batching import SearchWorker
from services.retriever.collections import EMPTY_VERSION, Collections
from services.retriever.documents import ExtractionLimits
from services.retriever.settings import RetrieverSettings

log = logging.getLogger(__name__)


class IndexUnavailable(NinjaragError):
    type, title, status = "index_unavailable", "The search index is not loaded", 503


class ReloadFailed(NinjaragError):
    type, title, status = "reload_failed", "The requested index could not be loaded", 422


class ReloadConflict(NinjaragError):
    type, title, status = "reload_in_progress", "Another reload is running", 409


class RetrieverService:
    def __init__(self, settings: RetrieverSettings) -> None:
        self.settings = settings
        self.worker = SearchWorker(settings.max_batch, settings.batch_wait_ms, settings.max_queued)
        self.index = None  # RetrieverIndex once loaded (torch and colbert-ai are imported then)
        self._not_loaded = "loading"
        self._reload_lock = asyncio.Lock()
        limits = ExtractionLimits(max_file_bytes=settings.max_file_bytes, max_documents=settings.max_documents_per_job)
        self.collections = Collections(settings.collections_root, settings.default_collection, self._open_index, limits,
                                       settings.checkpoint_path, settings.ingest_threads, settings.max_collections)

    async def warm_up(self) -> str:
        self.worker.start()
        try:
            self.index, detail = await self.worker.run_in_worker(self._open_index, self.settings.index_dir)
        except Exception as exc:
            self._not_loaded = str(exc)
            raise
        await self.collections.start()
        served = len(self.collections.served)
        return f"{detail}; {served} ingested collection{'s' * (served != 1)}"

    async def aclose(self) -> None:
        await self.collections.stop()
        await self.worker.stop()

    def _open_index(self, index_dir: Path):  # noqa: ANN202 - (RetrieverIndex, detail), imported lazily
        from services.retriever.encoding import resolve_precision
        from services.retriever.index import RetrieverIndex, SearchTuning

        index = RetrieverIndex(index_dir, self.settings.checkpoint_path, resolve_precision(self.settings.precision),
                               SearchTuning(hybrid_candidates=self.settings.hybrid_candidates))
        return index, index.load()

    def current_index(self):  # noqa: ANN201 - RetrieverIndex
        if self.index is None:
            raise IndexUnavailable(f"index at {self.settings.index_dir}: {self._not_loaded}", retry_after_s=5)
        return self.index

    def index_for(self, collection: str | None):  # noqa: ANN201 - RetrieverIndex, None: nothing indexed yet
        if collection is None or collection == self.settings.default_collection:
            return self.current_index()
        return self.collections.index(collection)

    async def search(self, queries: list[str], k: int, mode: SearchMode, collection: str | None = None,
                     filters: dict[str, MetadataValue] | None = None) -> list[SearchResult]:
        started = time.perf_counter()
        index = self.index_for(collection)
        if index is None:
            return [SearchResult(passages=[], index_version=EMPTY_VERSION, timings_ms={"total": 0.0}) for _ in queries]
        outcome = await self.worker.search(index, queries, k, index.mode_for(mode), filters)
        total = round((time.perf_counter() - started) * 1000, 2)
        return [
            SearchResult(passages=passages, index_version=index.version, timings_ms={**outcome.timings_ms, "total": total})
            for passages in outcome.passages
        ]

    async def rerank(self, query: str, passages: list[Passage]) -> list[Passage]:
        index = self.current_index()
        if not index.dense:
            raise IndexUnavailable("reranking needs the dense index, which is still being built", retry_after_s=60)
        return await self.worker.run_in_worker(index.rerank, query, passages)

    def index_info(self, collection: str | None = None) -> IndexInfo:
        index = self.index_for(collection)
        if index is None:
            return IndexInfo(index_version=EMPTY_VERSION, passages=0, encoding="none")
        return IndexInfo(index_version=index.version, passages=len(index.passages),
                         encoding=index.manifest.encoding if index.dense else "none (BM25 only)")

    def collection_info(self, name: str) -> CollectionInfo:
        if name != self.settings.default_collection:
            self.collections.require(name)
            return self.collections.info(name)
        index = self.current_index()
        return CollectionInfo(name=name, description="The demo corpus (`ninjarag prepare`).",
                              documents=len(index.passages), passages=len(index.passages),
                              index_version=index.version, read_only=True,
                              created_at=self.settings.index_dir.stat().st_mtime)

    def collection_infos(self) -> list[CollectionInfo]:
        """The demo collection first, then the ingested ones."""
        return [self.collection_info(self.settings.default_collection), *self.collections.infos()]

    async def reload(self, name: str | None) -> tuple[ReloadResult, str]:
        """Load an index (default: the configured one, rebuilt) and swap to it; requests in flight
        finish on the old one. The result and the new index's readiness detail."""
        if self._reload_lock.locked():
            raise ReloadConflict("a reload is already running; wait for it to finish")
        async with self._reload_lock:
            started = time.perf_counter()
            index_dir = self.settings.index_root / name if name else self.settings.index_dir
            try:
                # Loaded beside the worker thread, so searches keep being served meanwhile.
                index, detail = await asyncio.to_thread(self._open_index, index_dir)
            except Exception as exc:  # noqa: BLE001 - the old index keeps serving
                log.error("reload of %s failed: %s", index_dir, exc)
                raise ReloadFailed(f"{name or 'the configured index'} could not be loaded (the retriever log says "
                                   "why); still serving the previous index") from None
            self.index = index
            return ReloadResult(index_version=index.version, index_dir=str(index_dir),
                                took_ms=round((time.perf_counter() - started) * 1000, 2)), detail
