"""Collections on a real retriever: create, ingest every supported format through a job (bad files
reported per document, never stopping the rest), search with filters, delete a document and the
collection; the default collection keeps answering searches throughout."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from services.retriever.app import create_app
from services.retriever.settings import RetrieverSettings
from tests.helpers import wait_until_ready

FACT = "The Zorblax reactor was built in Quentia in 1987 by the engineer Malvina Oduya."


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose text layer is `text` (Helvetica), with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def jsonl(*records: object) -> bytes:
    return "\n".join(r if isinstance(r, str) else json.dumps(r) for r in records).encode()


UPLOAD = [
    ("facts.jsonl", jsonl(
        {"id": "zorblax", "title": "Zorblax reactor", "text": FACT, "metadata": {"lang": "en", "tags": ["energy", "x"]}},
        {"id": "lighthouse", "title": "Brightmoor lighthouse", "text": "The Brightmoor lighthouse stands on a granite "
         "spit and was first lit in 1852.", "metadata": {"lang": "fr", "tags": ["sea"]}},
        '{"id": "broken", "title": "half a line',
        {"id": "no-text", "title": "Nothing"},
    )),
    ("guide.md", b"# Quentia travel guide\n\nQuentia's old town is known for its copper roofs.\n"),
    ("page.html", b"<html><head><title>Orchard notes</title><script>alert(1)</script></head>"
                  b"<body><p>The Velmont orchard grows <b>amber pears</b>.</p></body></html>"),
    ("report.pdf", minimal_pdf("The Harrow bridge opened to traffic in 1931.")),
    ("empty.txt", b"   \n"),
    ("binary.txt", b"\x00\x01\x02\x03 data"),
    ("latin1.txt", "Caf\u00e9 cr\u00e8me".encode("latin-1")),
    ("big.txt", b"word " * 60_000),
    ("tool.exe", b"MZ\x90\x00"),
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf"),
]


@pytest.fixture(scope="module")
def ingesting(home, small_index, tmp_path_factory):
    settings = RetrieverSettings(index_dir=small_index, checkpoint_path=home.colbert_checkpoint, cpu_threads=1,
                                 collections_root=tmp_path_factory.mktemp("collections"), max_file_bytes=200_000)
    with TestClient(create_app(settings)) as client:
        assert wait_until_ready(client, timeout_s=300)["ready"]
        yield client


def wait_for_job(client: TestClient, job_id: str, timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} still {job['state']} ({job['stage']}) after {timeout_s} s")


def upload(client: TestClient, name: str, files: list[tuple[str, bytes]]) -> dict:
    response = client.post(f"/v1/collections/{name}/documents", files=[("files", f) for f in files])
    assert response.status_code == 202, response.text
    return response.json()


def test_a_collection_is_ingested_searched_filtered_and_deleted(ingesting):
    client = ingesting
    created = client.post("/v1/collections", json={"name": "notes", "description": "test notes"})
    assert created.status_code == 201, created.text
    assert created.json()["index_version"] == "empty"
    assert client.post("/v1/collections", json={"name": "notes"}).json()["type"] == "collection_exists"
    assert client.post("/v1/search", json={"query": "reactor", "collection": "notes"}).json()["passages"] == []

    job = upload(client, "notes", UPLOAD)
    assert job["state"] == "queued" and job["counts"]["files"] == len(UPLOAD)

    def search_default(i: int) -> int:
        return client.post("/v1/search", json={"query": f"music number {i}", "k": 3}).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:  # searches on the default collection during the job
        statuses = list(pool.map(search_default, range(20)))
    assert statuses == [200] * 20
    done = wait_for_job(client, job["id"])
    assert done["state"] == "done", done
    assert done["counts"]["indexed"] == 5  # zorblax, lighthouse, guide.md, page.html, report.pdf
    errors = {(e["file"], e["document"]): e["error"] for e in done["errors"]}
    assert "not valid JSON" in errors[("facts.jsonl", "line 3")]
    assert errors[("facts.jsonl", "line 4")].startswith("text: Field required")
    assert errors[("empty.txt", None)] == "the file is empty"
    assert "binary content" in errors[("binary.txt", None)]
    assert "not UTF-8 (invalid byte at offset 3)" in errors[("latin1.txt", None)]
    assert "at most 200,000 per file" in errors[("big.txt", None)]
    assert "unsupported file type" in errors[("tool.exe", None)]
    assert "not a readable PDF" in errors[("broken.pdf", None)]
    assert done["counts"]["failed"] == len(errors) == 8

    def top(query: str, **extra: object) -> list[dict]:
        response = client.post("/v1/search", json={"query": query, "k": 3, "collection": "notes", **extra})
        assert response.status_code == 200, response.text
        return response.json()["passages"]

    assert top("When was the Zorblax reactor built?")[0]["id"] == "zorblax#0"
    assert top("Zorblax reactor")[0]["metadata"] == {"lang": "en", "tags": ["energy", "x"]}
    assert top("Which bridge opened in 1931?")[0]["id"] == "report.pdf#0"
    assert top("amber pears orchard")[0]["title"] == "Orchard notes"
    assert "alert" not in json.dumps(top("amber pears orchard"))
    assert [p["id"] for p in top("reactor", filters={"lang": "fr"})] == ["lighthouse#0"]
    assert [p["id"] for p in top("reactor", filters={"tags": ["sea", "energy"], "lang": "en"})] == ["zorblax#0"]
    assert [p["id"] for p in top("reactor", mode="bm25", filters={"lang": "en"})] == ["zorblax#0"]
    assert top("reactor", filters={"lang": "de"}) == []
    # The demo (default) collection does not see them.
    assert all(not p["id"].startswith("zorblax") for p in
               client.post("/v1/search", json={"query": "Zorblax reactor Quentia", "k": 5}).json()["passages"])
    listed = {c["name"]: c for c in client.get("/v1/collections").json()["collections"]}
    assert listed["notes"]["documents"] == 5 and listed["notes"]["index_version"] == done["index_version"]
    assert listed[next(iter(listed))]["read_only"] is True

    removal = client.delete("/v1/collections/notes/documents/zorblax")
    assert removal.status_code == 202, removal.text
    assert wait_for_job(client, removal.json()["id"])["counts"]["deleted"] == 1
    assert all(not p["id"].startswith("zorblax") for p in top("When was the Zorblax reactor built?"))
    assert client.delete("/v1/collections/notes/documents/zorblax").json()["type"] == "not_found"

    assert client.delete("/v1/collections/notes").status_code == 204
    gone = client.post("/v1/search", json={"query": "reactor", "collection": "notes"})
    assert gone.status_code == 404 and gone.json()["type"] == "collection_not_found"


def test_collection_and_job_names_are_checked(ingesting):
    client = ingesting
    assert client.post("/v1/collections", json={"name": "../etc"}).json()["type"] == "invalid_request"
    assert client.post("/v1/collections", json={"name": "Upper"}).status_code == 422
    assert client.get("/v1/jobs/..%2F..%2Fetc").status_code in (404, 422)
    assert client.get(f"/v1/jobs/{'0' * 32}").json()["type"] == "job_not_found"
    default = client.get("/v1/collections").json()["collections"][0]["name"]
    refused = client.post(f"/v1/collections/{default}/documents", files=[("files", ("a.txt", b"text"))])
    assert refused.status_code == 409 and refused.json()["type"] == "read_only_collection"
    assert client.post("/v1/collections/absent/documents", files=[("files", ("a.txt", b"x"))]).status_code == 404
    client.post("/v1/collections", json={"name": "plain"})
    not_multipart = client.post("/v1/collections/plain/documents", content=b"text", headers={"content-type": "text/plain"})
    assert not_multipart.status_code == 422 and "multipart/form-data" in not_multipart.json()["detail"]


def test_a_job_left_running_by_a_stopped_retriever_is_run_at_the_next_start(home, small_index, tmp_path):
    from services.common.contracts.collections import IngestJob, JobCounts
    from services.retriever.collection_store import CollectionStore, JobStore

    store = CollectionStore(tmp_path)
    store.create("resumed", "")
    job = IngestJob(id="a" * 32, collection="resumed", kind="ingest", state="running", stage="indexing", progress=0.4,
                    counts=JobCounts(files=1), created_at=0.0, updated_at=0.0)
    uploads = store.uploads_dir("resumed", job.id)
    uploads.mkdir(parents=True)
    (uploads / "00000-fact.txt").write_text(FACT)
    JobStore(tmp_path).save(job)
    settings = RetrieverSettings(index_dir=small_index, checkpoint_path=home.colbert_checkpoint, cpu_threads=1,
                                 collections_root=tmp_path)
    with TestClient(create_app(settings)) as client:
        assert wait_until_ready(client, timeout_s=300)["ready"]
        done = wait_for_job(client, job.id)
        assert done["state"] == "done" and done["counts"]["indexed"] == 1, done
        found = client.post("/v1/search", json={"query": "Zorblax reactor", "collection": "resumed", "k": 1}).json()
        assert found["passages"][0]["id"] == "fact.txt#0"
    assert not uploads.exists()  # a finished job's files are removed
