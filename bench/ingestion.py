"""Ingestion benchmark on the running local stack (`ninjarag up`): 1,000 Wikipedia documents (the
longest lead sections of the demo corpus's Wikipedia source, whole) uploaded into a new collection
through the gateway, with documents/s and passages/s as the job reports them; meanwhile one client
searches the demo collection without pause, and its latency during ingestion is reported beside the
same searches on an idle retriever, in one run.

    cd bench && ../.ninjarag/venvs/cli/bin/python ingestion.py [--documents 1000] [--out results/ingestion.json]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from pathlib import Path

import httpx

from ninjarag.collections_api import GatewayApi
from ninjarag.settings import StackSettings
from report import emit, percentile
from services.common.http import bearer
from services.common.paths import Home

HOME = Home.from_env()


def wikipedia_documents(count: int) -> list[dict]:
    """Whole Wikipedia lead sections, rebuilt from their passages (ids `wiki-<document>-<n>`), longest first."""
    documents: dict[str, dict] = {}
    with HOME.corpus.open(encoding="utf-8") as lines:
        for line in lines:
            passage = json.loads(line)
            source, document, _n = passage["id"].split("-")
            if source != "wiki":
                continue
            entry = documents.setdefault(document, {"id": f"wiki-{document}", "title": passage["title"], "text": "",
                                                    "metadata": {"source": "wikipedia"}})
            entry["text"] = f"{entry['text']} {passage['text']}".strip()
    longest = sorted(documents.values(), key=lambda d: len(d["text"]), reverse=True)[:count]
    for number, document in enumerate(longest):
        document["metadata"]["shard"] = number % 4
    return longest


def search_latencies(settings: StackSettings, questions: list[str], stop: threading.Event,
                     seconds: float | None) -> list[float]:
    """One client searching the demo collection back to back until `stop` is set (or `seconds` pass)."""
    latencies: list[float] = []
    deadline = time.monotonic() + seconds if seconds else None
    with httpx.Client(base_url=f"http://{settings.host}:{settings.retriever_port}", timeout=60,
                      headers=bearer(settings.secrets.service_token)) as client:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            question = questions[len(latencies) % len(questions)]
            started = time.perf_counter()
            response = client.post("/v1/search", json={"query": question, "k": 10, "mode": "hybrid"})
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def summary(latencies: list[float]) -> dict:
    return {"searches": len(latencies), "p50_ms": round(percentile(latencies, 50), 1),
            "p95_ms": round(percentile(latencies, 95), 1), "max_ms": round(max(latencies), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    settings = StackSettings()
    questions = [json.loads(line)["question"] for line in HOME.nq_heldback.open(encoding="utf-8")]
    random.Random(0).shuffle(questions)
    documents = wikipedia_documents(args.documents)
    collection = f"bench-ingest-{int(time.time())}"

    idle = search_latencies(settings, questions, threading.Event(), args.idle_seconds)
    with GatewayApi.local(settings) as api, tempfile.TemporaryDirectory() as tmp:
        upload = Path(tmp) / "wikipedia.jsonl"
        upload.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in documents), encoding="utf-8")
        api.create(collection, "ingestion benchmark")
        stop = threading.Event()
        during: list[float] = []
        searcher = threading.Thread(target=lambda: during.extend(search_latencies(settings, questions, stop, None)))
        started = time.perf_counter()
        searcher.start()
        job = api.follow(api.upload(collection, [upload]), lambda _job: None)
        wall = time.perf_counter() - started
        stop.set()
        searcher.join()
        hit = api.client.post("/v1/answer", json={"question": f"What is {documents[0]['title']}?", "collection": collection,
                                                  "stream": False, "guard": True}).json()
        api.delete(collection)

    report = {
        "documents": len(documents), "bytes": upload_bytes(documents), "job_state": job.state,
        "indexed": job.counts.indexed, "failed": job.counts.failed, "passages": job.counts.passages,
        "job_seconds": job.seconds, "wall_seconds": round(wall, 1),
        "documents_per_second": round(job.counts.indexed / job.seconds, 2),
        "passages_per_second": round(job.counts.passages / job.seconds, 1),
        "search_idle": summary(idle), "search_during_ingestion": summary(during),
        "p95_ratio_during_vs_idle": round(percentile(during, 95) / percentile(idle, 95), 2),
        "answer_cites_ingested": any(c["id"].startswith(documents[0]["id"]) for c in hit.get("citations", [])),
    }
    table = "\n".join([
        f"ingested {report['indexed']} of {report['documents']} documents ({report['passages']} passages, "
        f"{report['bytes'] / 1e6:.1f} MB) in {report['job_seconds']} s: {report['documents_per_second']} docs/s, "
        f"{report['passages_per_second']} passages/s",
        f"demo-collection search p50/p95: idle {report['search_idle']['p50_ms']}/{report['search_idle']['p95_ms']} ms "
        f"({report['search_idle']['searches']} searches), during ingestion {report['search_during_ingestion']['p50_ms']}/"
        f"{report['search_during_ingestion']['p95_ms']} ms ({report['search_during_ingestion']['searches']} searches): "
        f"p95 x{report['p95_ratio_during_vs_idle']}",
        f"an answer over the new collection cites an ingested document: {report['answer_cites_ingested']}",
    ])
    emit(report, table, args.out)


def upload_bytes(documents: list[dict]) -> int:
    return sum(len(json.dumps(d, ensure_ascii=False).encode()) + 1 for d in documents)


if __name__ == "__main__":
    main()
