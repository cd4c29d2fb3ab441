"""The per-sentence output-guard call as the gateway makes it, over HTTP to the real guard app:
with every passage resent (before) against naming the screened set by its id (after), interleaved
in one run: for each answer, 10 demo passages are screened, then three of its sentences are
checked, answers alternating between the two ways. Prints request bytes and latency p50/p95 per call.

    .ninjarag/venvs/guard/bin/python bench/guard_calls.py [--answers 60] [--out bench/results/guard-calls.json]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from fastapi.testclient import TestClient

from report import emit
from services.common.contracts.guard import OutputGuardRequest
from services.common.corpus import iter_passages
from services.common.paths import Home
from services.common.sentences import split_sentences
from services.guard.app import create_app
from services.guard.settings import GuardSettings

PASSAGES_PER_ANSWER = 10
SENTENCES_PER_ANSWER = 3


def summary(bytes_sent: list[int], latencies_ms: list[float]) -> dict:
    latencies_ms = sorted(latencies_ms)
    return {"request_bytes_p50": int(statistics.median(bytes_sent)), "p50_ms": round(statistics.median(latencies_ms), 2),
            "p95_ms": round(latencies_ms[int(0.95 * (len(latencies_ms) - 1))], 2), "calls": len(latencies_ms)}


def measure(client: TestClient, answers: int, rng: random.Random) -> dict:
    """Answers alternate between the two ways (each sentence is checked once: a second check of the
    same sentence would find its embedding cached and flatter whichever way went second)."""
    passages = list(iter_passages(Home.from_env().corpus))
    timed: dict[str, tuple[list[int], list[float]]] = {"passages": ([], []), "passage_set": ([], [])}
    for number in range(2 * answers):
        way = ("passages", "passage_set")[number % 2]
        chosen = rng.sample(passages, PASSAGES_PER_ANSWER)
        screened = client.post("/v1/guard/passages", json={"passages": [p.model_dump() for p in chosen]}).json()
        kept = [p for p in chosen if p.id not in {f["id"] for f in screened["flagged"]}]
        for n, passage in enumerate(kept[:SENTENCES_PER_ANSWER], start=1):
            sentence = rng.choice(split_sentences(passage.text) or [passage.text]).rstrip(".") + f" [{n}]."
            request = (OutputGuardRequest(question="q", sentences=[sentence], passages=kept) if way == "passages"
                       else OutputGuardRequest(question="q", sentences=[sentence], passage_set=screened["passage_set"]))
            body = request.model_dump_json().encode()
            started = time.perf_counter()
            response = client.post("/v1/guard/output", content=body, headers={"content-type": "application/json"})
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            timed[way][0].append(len(body))
            timed[way][1].append(elapsed)
    report = {way: summary(*values) for way, values in timed.items()}
    report["bytes_ratio"] = round(report["passages"]["request_bytes_p50"] / report["passage_set"]["request_bytes_p50"], 1)
    report["p50_ratio"] = round(report["passages"]["p50_ms"] / report["passage_set"]["p50_ms"], 2)
    return report


def table(report: dict) -> str:
    lines = ["| per-sentence call | request bytes p50 | latency p50 ms | p95 ms | calls |", "|---|---|---|---|---|"]
    for way, label in (("passages", "every passage resent (before)"), ("passage_set", "screened set by id (after)")):
        row = report[way]
        lines.append(f"| {label} | {row['request_bytes_p50']:,} | {row['p50_ms']} | {row['p95_ms']} | {row['calls']} |")
    lines.append(f"\nbytes {report['bytes_ratio']}x smaller, p50 {report['p50_ratio']}x faster")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = GuardSettings(cpu_threads=args.threads)
    settings.apply_cpu_threads()
    with TestClient(create_app(settings)) as client:
        while not client.get("/readyz").json()["ready"]:  # the models load in the background
            time.sleep(0.2)
        report = measure(client, args.answers, random.Random(0))
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
