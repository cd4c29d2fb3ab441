"""The ingested collections the retriever serves: each one's current index, their on-disk store, and
the ingestion worker that rebuilds them. The demo collection (the configured index, built by
`prepare`) is served by RetrieverService itself and is read-only here."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from services.common.contracts.collections import CollectionInfo, CreateCollection, IngestJob
from services.common.errors import (
    CollectionExists,
    CollectionNotFound,
    JobNotFound,
    NinjaragError,
    NotFound,
    ReadOnlyCollection,
    TooManyCollections,
)
from services.retriever.collection_store import CollectionStore, JobStore
from services.retriever.documents import ExtractionLimits
from services.retriever.ingestion import IngestionWorker

log = logging.getLogger(__name__)
EMPTY_VERSION = "empty"


class IndexNotLoaded(NinjaragError):
    type, title, status = "index_unavailable", "The collection's index is not loaded", 503


class Collections:
    def __init__(self, root: Path, default: str, open_index: Callable, limits: ExtractionLimits, checkpoint: Path,
                 build_threads: int, max_collections: int) -> None:
        self.default = default
        self.store = CollectionStore(root)
        self.jobs = JobStore(root)
        self.open_index = open_index  # (index_dir) -> (RetrieverIndex, detail)
        self.max_collections = max_collections
        self.served: dict[str, object] = {}  # name -> RetrieverIndex, for collections with passages
        self.broken: dict[str, str] = {}  # name -> why its index did not load
        self.ingestion = IngestionWorker(self.store, self.jobs, limits, checkpoint, build_threads, self.load)

    async def start(self) -> None:
        for name in self.store.names():
            try:
                await self.load(name)
            except Exception:  # noqa: BLE001, S112 - logged and reported per collection; the others load
                continue
        self.ingestion.start()

    async def stop(self) -> None:
        await self.ingestion.stop()

    async def load(self, name: str) -> str:
        """Load a collection's index beside the search worker and serve it: its version."""
        index_dir = self.store.index_dir(name)
        if not index_dir.is_dir():
            self.served.pop(name, None)
            return EMPTY_VERSION
        try:
            index, _detail = await asyncio.to_thread(self.open_index, index_dir)
        except Exception as exc:  # noqa: BLE001 - one broken collection must not stop the others
            log.error("collection %s: index not loaded: %s", name, exc)
            self.broken[name] = str(exc)[:300]
            raise
        self.broken.pop(name, None)
        self.served[name] = index
        return index.version

    def index(self, name: str):  # noqa: ANN201 - RetrieverIndex, or None for a collection with nothing indexed
        self.require(name)
        if name in self.broken and name not in self.served:
            raise IndexNotLoaded(f"collection {name!r}: its index did not load; re-ingest a document to rebuild it",
                                 retry_after_s=30)
        return self.served.get(name)

    def require(self, name: str) -> None:
        if not self.store.exists(name):
            raise CollectionNotFound(f"no collection {name!r}; GET /v1/collections lists them")

    def writable(self, name: str) -> None:
        if name == self.default:
            raise ReadOnlyCollection(f"{name!r} is built by `ninjarag prepare`; create a collection to ingest into")
        self.require(name)

    def create(self, body: CreateCollection) -> CollectionInfo:
        if body.name == self.default or self.store.exists(body.name):
            raise CollectionExists(f"a collection named {body.name!r} exists; pick another name or delete it first")
        if len(self.store.names()) >= self.max_collections:
            raise TooManyCollections(f"this retriever holds at most {self.max_collections} collections; delete one")
        self.store.create(body.name, body.description)
        return self.info(body.name)

    def delete(self, name: str) -> None:
        self.writable(name)
        self.served.pop(name, None)
        self.broken.pop(name, None)
        self.store.delete(name)

    def info(self, name: str) -> CollectionInfo:
        meta = self.store.meta(name)
        index = self.served.get(name)
        return CollectionInfo(name=name, description=meta.get("description", ""),
                              documents=self.store.document_count(name),
                              passages=len(index.passages) if index else 0,
                              index_version=index.version if index else EMPTY_VERSION,
                              read_only=False, created_at=meta["created_at"])

    def infos(self) -> list[CollectionInfo]:
        return [self.info(name) for name in self.store.names()]

    def ingest(self, name: str, files: list[tuple[str, bytes]]) -> IngestJob:
        self.writable(name)
        return self.ingestion.submit_files(name, files)

    def delete_document(self, name: str, document_id: str) -> IngestJob:
        self.writable(name)
        if not self.store.has_document(name, document_id):
            raise NotFound(f"collection {name!r} has no document {document_id!r}")
        return self.ingestion.submit_delete(name, document_id)

    def job(self, job_id: str) -> IngestJob:
        job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no ingestion job {job_id!r}")
        return job
