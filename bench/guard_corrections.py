"""What the correction ladder costs, as the gateway calls the guard: real model sentences
(bench/data/guard-real/items.jsonl, train-part questions) checked one per call against their
answer's screened passage set, with the proposals the answer policy uses (trims, quotes, the
best quote) and without them (a keep-or-drop policy), answers alternating between the two ways in
one run. Prints per-sentence latency p50/p95 each way and the added time per answer (p50 of the
per-answer sums).

    .ninjarag/venvs/guard/bin/python bench/guard_corrections.py [--answers 80] [--out bench/results/guard-corrections.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from itertools import groupby
from pathlib import Path

from fastapi.testclient import TestClient

from report import emit
from services.common.paths import REPO_ROOT
from services.guard.app import create_app
from services.guard.settings import GuardSettings

ITEMS = REPO_ROOT / "bench" / "data" / "guard-real" / "items.jsonl"


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[int(q * (len(ordered) - 1))], 2)


def measure(client: TestClient, answers: list[list[dict]]) -> dict:
    """Each answer's passages are screened afresh (as a new answer's are), then its sentences are
    checked one by one; even answers with proposals, odd ones without."""
    per_sentence: dict[bool, list[float]] = {True: [], False: []}
    per_answer: dict[bool, list[float]] = {True: [], False: []}
    for number, items in enumerate(answers):
        propose = number % 2 == 0
        screened = client.post("/v1/guard/passages", json={"passages": items[0]["passages"]}).json()
        total = 0.0
        for item in items:
            started = time.perf_counter()
            response = client.post("/v1/guard/output", json={
                "question": item["question"], "sentences": [item["sentence"]], "passage_set": screened["passage_set"],
                "propose_corrections": propose})
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            per_sentence[propose].append(elapsed)
            total += elapsed
        per_answer[propose].append(total)
    way = {True: "with_proposals", False: "without"}
    report = {way[k]: {"sentence_p50_ms": round(statistics.median(v), 2), "sentence_p95_ms": p(v, 0.95),
                       "answer_p50_ms": round(statistics.median(per_answer[k]), 2), "sentences": len(v),
                       "answers": len(per_answer[k])} for k, v in per_sentence.items()}
    report["added_per_answer_p50_ms"] = round(report["with_proposals"]["answer_p50_ms"]
                                              - report["without"]["answer_p50_ms"], 2)
    return report


def table(report: dict) -> str:
    lines = ["| output check | sentence p50 ms | sentence p95 ms | answer p50 ms | sentences | answers |",
             "|---|---|---|---|---|---|"]
    for name in ("without", "with_proposals"):
        row = report[name]
        lines.append(f"| {name.replace('_', ' ')} | {row['sentence_p50_ms']} | {row['sentence_p95_ms']} | "
                     f"{row['answer_p50_ms']} | {row['sentences']} | {row['answers']} |")
    lines.append(f"\nthe correction ladder adds {report['added_per_answer_p50_ms']} ms per answer (p50 of sums)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=80)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    items = [json.loads(line) for line in ITEMS.read_text(encoding="utf-8").splitlines()]
    answers = [list(group) for _, group in groupby(items, key=lambda item: item["id"].rsplit("-", 1)[0])]
    settings = GuardSettings(cpu_threads=args.threads)
    settings.apply_cpu_threads()
    with TestClient(create_app(settings)) as client:
        while not client.get("/readyz").json()["ready"]:  # the models load in the background
            time.sleep(0.2)
        report = measure(client, answers[: args.answers])
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
