"""Collections on disk, under RETRIEVER_COLLECTIONS_ROOT:

    <name>/collection.json      description, created_at
    <name>/documents/<h>.json   one ingested document each (h: a hash of its id)
    <name>/index/               the index being served (built beside as index.building, then renamed)
    <name>/uploads/<job>/       files of a job not yet done, so that a restarted retriever resumes it
    .jobs/<id>.json             ingestion jobs

Every file is written whole and renamed into place, so a crash never leaves half of one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from services.common.contracts.collections import IngestJob
from services.common.contracts.search import Passage
from services.common.corpus import split_words
from services.retriever.documents import Document

META_FILE = "collection.json"
INDEX_DIR = "index"
JOBS_DIR = ".jobs"


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def passages_of(document: Document) -> list[Passage]:
    """A document cut into passages by the demo corpus's rule; ids `<document id>#<n>`."""
    metadata = document.metadata or None
    return [Passage(id=f"{document.id}#{n}", title=document.title or document.id, text=chunk, metadata=metadata)
            for n, chunk in enumerate(split_words(document.text))]


class CollectionStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        return self.root / name

    def index_dir(self, name: str) -> Path:
        return self.path(name) / INDEX_DIR

    def uploads_dir(self, name: str, job_id: str) -> Path:
        return self.path(name) / "uploads" / job_id

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / META_FILE).is_file())

    def exists(self, name: str) -> bool:
        return (self.path(name) / META_FILE).is_file()

    def create(self, name: str, description: str) -> dict:
        folder = self.path(name)
        (folder / "documents").mkdir(parents=True, exist_ok=True)
        meta = {"description": description, "created_at": time.time()}
        write_atomically(folder / META_FILE, json.dumps(meta))
        return meta

    def meta(self, name: str) -> dict:
        return json.loads((self.path(name) / META_FILE).read_text(encoding="utf-8"))

    def delete(self, name: str) -> None:
        """Renamed away first: the collection is gone at once, even if the removal is interrupted."""
        folder = self.path(name)
        doomed = self.root / f".deleting-{name}-{time.time_ns()}"
        folder.rename(doomed)
        shutil.rmtree(doomed, ignore_errors=True)

    def _document_path(self, name: str, document_id: str) -> Path:
        return self.path(name) / "documents" / (hashlib.sha256(document_id.encode()).hexdigest()[:32] + ".json")

    def put_document(self, name: str, document: Document) -> None:
        write_atomically(self._document_path(name, document.id), document.model_dump_json())

    def remove_document(self, name: str, document_id: str) -> bool:
        path = self._document_path(name, document_id)
        if not path.is_file():
            return False
        path.unlink()
        return True

    def has_document(self, name: str, document_id: str) -> bool:
        return self._document_path(name, document_id).is_file()

    def documents(self, name: str) -> Iterator[Document]:
        for path in sorted((self.path(name) / "documents").glob("*.json")):
            yield Document.model_validate_json(path.read_text(encoding="utf-8"))

    def document_count(self, name: str) -> int:
        return sum(1 for _ in (self.path(name) / "documents").glob("*.json"))

    def write_corpus(self, name: str, out: Path) -> int:
        """Every document's passages as a corpus file (ordered by document id); how many passages."""
        count = 0
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as sink:
            for document in sorted(self.documents(name), key=lambda d: d.id):
                for passage in passages_of(document):
                    sink.write(passage.model_dump_json(exclude_none=True) + "\n")
                    count += 1
        tmp.replace(out)
        return count


class JobStore:
    def __init__(self, root: Path) -> None:
        self.folder = root / JOBS_DIR

    def save(self, job: IngestJob) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        job.updated_at = time.time()
        write_atomically(self.folder / f"{job.id}.json", job.model_dump_json())

    def get(self, job_id: str) -> IngestJob | None:
        path = self.folder / f"{job_id}.json"
        return IngestJob.model_validate_json(path.read_text(encoding="utf-8")) if path.is_file() else None

    def unfinished(self) -> list[IngestJob]:
        """Jobs a stopped retriever left queued or running, oldest first: they are run (again) at start."""
        if not self.folder.is_dir():
            return []
        jobs = [IngestJob.model_validate_json(p.read_text(encoding="utf-8")) for p in self.folder.glob("*.json")]
        return sorted((j for j in jobs if j.state in ("queued", "running")), key=lambda j: j.created_at)
