"""Ingestion jobs: one at a time, in the retriever's own background task, never in the request.

A job extracts its files into documents (each bad one is reported, the rest go on), rebuilds the
collection's index beside the one being served (a subprocess at the lowest CPU priority, so searches
on every collection keep their CPU), then hands the new index to the retriever to load and swap in.
Until that swap, searches are served from the previous version. A retriever stopped mid-job runs
the job again at its next start (extraction and deletion are idempotent: documents are keyed by id).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from services.common.contracts.collections import DocumentError, IngestJob, JobCounts
from services.retriever.collection_store import CollectionStore, JobStore
from services.retriever.documents import ExtractionLimits, extract

log = logging.getLogger(__name__)
MAX_REPORTED_ERRORS = 1000
# Where each stage ends on the job's progress scale: extraction is quick, indexing is most of it.
PROGRESS_AFTER = {"extracting": 0.1, "indexing": 0.95, "loading": 1.0}
_ENCODING_BAR = b"encoding passages:"


class IngestionWorker:
    def __init__(self, store: CollectionStore, jobs: JobStore, limits: ExtractionLimits, checkpoint: Path,
                 build_threads: int, swap_in: Callable[[str], Awaitable[str]]) -> None:
        self.store = store
        self.jobs = jobs
        self.limits = limits
        self.checkpoint = checkpoint
        self.build_threads = build_threads
        self.swap_in = swap_in  # loads a collection's freshly built index and serves it; returns its version
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        for job in self.jobs.unfinished():
            log.info("resuming ingestion job %s (%s, was %s)", job.id, job.collection, job.state)
            self._queue.put_nowait(job.id)
        self._task = asyncio.create_task(self._run(), name="ingestion-worker")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()

    def submit_files(self, collection: str, files: list[tuple[str, bytes]]) -> IngestJob:
        job = self._new_job(collection, "ingest")
        folder = self.store.uploads_dir(collection, job.id)
        folder.mkdir(parents=True)
        for number, (filename, data) in enumerate(files):
            # The number keeps the upload order; the client's name is kept only as a file's suffix.
            (folder / f"{number:05d}-{Path(filename).name[-120:] or 'file'}").write_bytes(data)
        job.counts.files = len(files)
        return self._queued(job)

    def submit_delete(self, collection: str, document_id: str) -> IngestJob:
        job = self._new_job(collection, "delete")
        folder = self.store.uploads_dir(collection, job.id)
        folder.mkdir(parents=True)
        (folder / "delete").write_text(document_id, encoding="utf-8")
        return self._queued(job)

    def _new_job(self, collection: str, kind: str) -> IngestJob:
        now = time.time()
        return IngestJob(id=uuid.uuid4().hex, collection=collection, kind=kind, state="queued", stage="queued",
                         progress=0.0, counts=JobCounts(), created_at=now, updated_at=now)

    def _queued(self, job: IngestJob) -> IngestJob:
        self.jobs.save(job)
        self._queue.put_nowait(job.id)
        return job

    async def _run(self) -> None:
        while True:
            job = self.jobs.get(await self._queue.get())
            if job is None or job.state not in ("queued", "running"):
                continue
            started = time.monotonic()
            try:
                await self._process(job, started)
            except asyncio.CancelledError:
                raise  # stopping: the job stays `running` on disk and is resumed at the next start
            except Exception as exc:  # noqa: BLE001 - the job says why; the worker goes on with the next
                log.exception("ingestion job %s failed", job.id)
                self._finish(job, started, failed=f"{type(exc).__name__}: {exc}"[:500])

    async def _process(self, job: IngestJob, started: float) -> None:
        name = job.collection
        if not self.store.exists(name):
            self._finish(job, started, failed=f"the collection {name!r} was deleted")
            return
        job.state, job.counts.indexed, job.counts.deleted, job.counts.failed = "running", 0, 0, 0
        job.errors = []
        self._advance(job, "extracting", 0.0, started)
        await asyncio.to_thread(self._apply_files, job)
        self._advance(job, "indexing", PROGRESS_AFTER["extracting"], started)
        passages = await asyncio.to_thread(self._write_corpus, name)
        if passages:
            await self._build(job, started)
        else:
            shutil.rmtree(self.store.index_dir(name), ignore_errors=True)
        self._advance(job, "loading", PROGRESS_AFTER["indexing"], started)
        job.index_version = await self.swap_in(name)
        job.counts.passages = passages
        self._finish(job, started)

    def _apply_files(self, job: IngestJob) -> None:
        folder = self.store.uploads_dir(job.collection, job.id)
        if job.kind == "delete":
            document_id = (folder / "delete").read_text(encoding="utf-8")
            if self.store.remove_document(job.collection, document_id):
                job.counts.deleted = 1
            else:
                self._report(job, DocumentError(file="", document=document_id, error="no such document"))
            return
        documents = 0
        for path in sorted(folder.iterdir()):
            filename = path.name.partition("-")[2]
            for item in extract(filename, path.read_bytes(), self.limits):
                if isinstance(item, DocumentError):
                    self._report(job, item)
                    continue
                documents += 1
                if documents > self.limits.max_documents:
                    self._report(job, DocumentError(file=filename, document=item.id, error=(
                        f"over the {self.limits.max_documents:,} documents one job takes; send the rest in another")))
                    continue
                self.store.put_document(job.collection, item)
                job.counts.indexed += 1
        job.counts.documents = documents

    def _report(self, job: IngestJob, error: DocumentError) -> None:
        job.counts.failed += 1
        if len(job.errors) < MAX_REPORTED_ERRORS:
            job.errors.append(error)

    def _write_corpus(self, name: str) -> int:
        return self.store.write_corpus(name, self.store.path(name) / "corpus.jsonl")

    async def _build(self, job: IngestJob, started: float) -> None:
        """The index builder in a subprocess at lower priority; its progress bar drives the job's."""
        folder = self.store.path(job.collection)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.retriever.build.indexing", "--corpus", str(folder / "corpus.jsonl"),
            "--out", str(self.store.index_dir(job.collection)), "--checkpoint", str(self.checkpoint),
            "--threads", str(self.build_threads),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, preexec_fn=_lowest_priority)
        tail = b""
        try:
            while chunk := await process.stderr.read(4096):
                tail = (tail + chunk)[-4096:]
                fraction = _encoding_fraction(tail)
                if fraction is not None:
                    low, high = PROGRESS_AFTER["extracting"], PROGRESS_AFTER["indexing"]
                    self._advance(job, "indexing", low + (high - low) * fraction, started)
            code = await process.wait()
        except asyncio.CancelledError:
            process.kill()
            raise
        if code != 0:
            last = tail.decode("utf-8", "replace").replace("\r", "\n").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"the index build exited with {code}: {last[0][:300]}")

    def _advance(self, job: IngestJob, stage: str, progress: float, started: float) -> None:
        job.stage, job.progress = stage, round(min(1.0, progress), 3)
        job.seconds = round(time.monotonic() - started, 1)
        self.jobs.save(job)

    def _finish(self, job: IngestJob, started: float, failed: str | None = None) -> None:
        job.state = "failed" if failed else "done"
        job.reason = failed
        job.stage = job.state
        job.progress = job.progress if failed else 1.0
        job.seconds = round(time.monotonic() - started, 1)
        self.jobs.save(job)
        shutil.rmtree(self.store.uploads_dir(job.collection, job.id), ignore_errors=True)


def _lowest_priority() -> None:
    """The build gets only CPU time that searches leave (SCHED_IDLE on Linux; elsewhere nice 19)."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    else:
        os.nice(19)


def _encoding_fraction(tail: bytes) -> float | None:
    """The last `encoding passages: NN%` tqdm drew in the build's stderr, as a fraction."""
    at = tail.rfind(_ENCODING_BAR)
    if at < 0:
        return None
    percent = tail[at + len(_ENCODING_BAR):].partition(b"%")[0].strip()
    return int(percent) / 100 if percent.isdigit() and len(percent) <= 3 else None
