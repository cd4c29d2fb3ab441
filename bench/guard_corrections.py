"""What the correction ladder costs, as the gateway calls the guard: real model sentences
(bench/data/guard-real/items.jsonl, train-part questions) checked one per call against their
answer's screened passage set, with the proposals the answer policy uses (trims, quotes, the
best quote) and without them (a keep-or-drop policy), in one run. Prints per-sentence latency p50/p95 each way and the added time per answer (the mean of the
paired differences: each answer is checked both ways).

    .ninjarag/venvs/guard/bin/python bench/guard_corrections.py [--answers 80] [--out bench/results/guard-corrections.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from itertools import groupby
from pathlib import Path

import httpx

from report import emit, free_port
from services.common.paths import REPO_ROOT

ITEMS = REPO_ROOT / "bench" / "data" / "guard-real" / "items.jsonl"


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))], 2)


def measure(client: httpx.Client, answers: list[list[dict]]) -> dict:
    """Each answer's passages are screened afresh (as a new answer's are), then its sentences are
    checked one by one both ways; which way goes first alternates between answers, so the
    embeddings the first way leaves cached flatter each way equally often."""
    per_sentence: dict[bool, list[float]] = {True: [], False: []}
    per_answer: dict[bool, list[float]] = {True: [], False: []}
    added: list[float] = []
    for number, items in enumerate(answers):
        screened = client.post("/v1/guard/passages", json={"passages": items[0]["passages"]}).json()
        totals = {}
        for propose in ((True, False) if number % 2 == 0 else (False, True)):
            totals[propose] = 0.0
            for item in items:
                started = time.perf_counter()
                response = client.post("/v1/guard/output", json={
                    "question": item["question"], "sentences": [item["sentence"]],
                    "passage_set": screened["passage_set"], "propose_corrections": propose})
                elapsed = (time.perf_counter() - started) * 1000
                response.raise_for_status()
                per_sentence[propose].append(elapsed)
                totals[propose] += elapsed
            per_answer[propose].append(totals[propose])
        added.append(totals[True] - totals[False])
    way = {True: "with_proposals", False: "without"}
    report = {way[k]: {"sentence_p50_ms": round(statistics.median(v), 2), "sentence_p95_ms": p(v, 0.95),
                       "answer_p50_ms": round(statistics.median(per_answer[k]), 2), "sentences": len(v),
                       "answers": len(per_answer[k])} for k, v in per_sentence.items()}
    # The mean, not the median: whichever way goes second finds the sentence's embedding cached, and
    # the alternation cancels that out on average only.
    report["added_per_answer_mean_ms"] = round(statistics.mean(added), 2)
    return report


def _ready(client: httpx.Client) -> bool:
    try:
        return client.get("/readyz").json()["ready"]
    except httpx.HTTPError:
        return False


def table(report: dict) -> str:
    lines = ["| output check | sentence p50 ms | sentence p95 ms | answer p50 ms | sentences | answers |",
             "|---|---|---|---|---|---|"]
    for name in ("without", "with_proposals"):
        row = report[name]
        lines.append(f"| {name.replace('_', ' ')} | {row['sentence_p50_ms']} | {row['sentence_p95_ms']} | "
                     f"{row['answer_p50_ms']} | {row['sentences']} | {row['answers']} |")
    lines.append(f"\nthe correction ladder adds {report['added_per_answer_mean_ms']} ms per answer (mean of paired differences)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=80)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    items = [json.loads(line) for line in ITEMS.read_text(encoding="utf-8").splitlines()]
    answers = [list(group) for _, group in groupby(items, key=lambda item: item["id"].rsplit("-", 1)[0])]
    # The guard in a process of its own, as deployed, called over HTTP as the gateway calls it.
    port = free_port()
    environment = {**os.environ, "GUARD_PORT": str(port), "GUARD_CPU_THREADS": str(args.threads)}
    for name in ("NINJARAG_SERVICE_TOKEN", "GUARD_METRICS_PORT"):
        environment.pop(name, None)
    guard = subprocess.Popen([sys.executable, "-m", "services.guard"], env=environment, cwd=REPO_ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            while not _ready(client):  # the models load in the background
                if guard.poll() is not None:
                    raise SystemExit(f"the guard exited with {guard.returncode}; run it alone to see why")
                time.sleep(0.5)
            report = measure(client, answers[: args.answers])
    finally:
        guard.terminate()
        guard.wait(timeout=30)
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
