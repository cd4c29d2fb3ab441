"""The search worker: one thread runs all searches (colbert-ai's Searcher is not thread-safe), and
queries that arrive together are encoded in one batch."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from services.common.admission import AdmissionLimit, Permit
from services.common.contracts.collections import MetadataValue
from services.common.contracts.search import Passage
from services.common.contracts.vocabulary import SearchMode
from services.retriever.index import RetrieverIndex


@dataclass
class _Job:
    index: RetrieverIndex
    queries: list[str]
    k: int
    mode: SearchMode
    future: asyncio.Future
    permit: Permit  # its queries' places in the queue
    filters: dict[str, MetadataValue] | None = None
    queued_at: float = field(default_factory=time.perf_counter)


@dataclass
class SearchOutcome:
    passages: list[list[Passage]]
    timings_ms: dict[str, float]


class SearchWorker:
    def __init__(self, max_batch: int, batch_wait_ms: float, max_queued: int) -> None:
        self.max_batch = max_batch
        self.batch_wait_s = batch_wait_ms / 1000
        self.queued = AdmissionLimit(max_queued, "queries already queued")
        self._queue: asyncio.Queue[_Job] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="search-worker")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def run_in_worker(self, fn, *args):  # noqa: ANN001, ANN201 - anything that touches the index
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def search(self, index: RetrieverIndex, queries: list[str], k: int, mode: SearchMode,
                     filters: dict[str, MetadataValue] | None = None) -> SearchOutcome:
        job = _Job(index, queries, k, mode, asyncio.get_running_loop().create_future(), self.queued.acquire(len(queries)),
                   filters)
        await self._queue.put(job)
        return await job.future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            deadline = time.perf_counter() + self.batch_wait_s
            while sum(len(job.queries) for job in batch) < self.max_batch:
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), max(0.0, deadline - time.perf_counter())))
                except TimeoutError:
                    break
            started = time.perf_counter()
            for job in batch:  # off the queue: their places are free again
                job.permit.release()
            live = [job for job in batch if not job.future.cancelled()]
            try:
                results = await self.run_in_worker(_search_batch, live)
            except Exception as exc:  # noqa: BLE001 - every waiting request gets the failure
                for job in live:
                    if not job.future.done():
                        job.future.set_exception(exc)
                continue
            for job, (passages, encode_ms, search_ms) in zip(live, results, strict=True):
                if not job.future.done():
                    timings = {
                        "queue": round((started - job.queued_at) * 1000, 2),
                        "encode": encode_ms,
                        "search": search_ms,
                        "batch_queries": float(sum(len(j.queries) for j in live)),
                    }
                    job.future.set_result(SearchOutcome(passages, timings))


def _search_batch(jobs: list[_Job]) -> list[tuple[list[list[Passage]], float, float]]:
    """Encode every query of the batch once per index, then run each job's searches."""
    results = []
    by_index: dict[int, list[_Job]] = {}
    for job in jobs:
        by_index.setdefault(id(job.index), []).append(job)
    outcome: dict[int, tuple[list[list[Passage]], float, float]] = {}
    for group in by_index.values():
        index = group[0].index
        to_encode = [q for job in group if job.mode != "bm25" for q in job.queries]
        started = time.perf_counter()
        embeddings = iter(index.encode(to_encode)) if to_encode else iter(())
        encode_ms = round((time.perf_counter() - started) * 1000, 2)
        for job in group:
            started = time.perf_counter()
            passages = [
                index.search_encoded(query, None if job.mode == "bm25" else next(embeddings), job.k, job.mode,
                                     job.filters)
                for query in job.queries
            ]
            outcome[id(job)] = (passages, encode_ms if job.mode != "bm25" else 0.0,
                                round((time.perf_counter() - started) * 1000, 2))
    for job in jobs:
        results.append(outcome[id(job)])
    return results
