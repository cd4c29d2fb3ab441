"""Where the answer policy's relevance gate (ANSWER_POLICY_MIN_RELEVANCE) should sit, chosen on
NQ-open dev questions of the train part, never the held-back part: for each question of an eval
run, the guard's best quote (the passage sentence that best answers it) over the answer's
retrieved passages; per threshold, the share of questions refused where a passage holds an
accepted answer (refused in error) and where none does (refused rightly, CRAG's "incorrect"
retrieval), and how often the quote itself holds an accepted answer.

    .ninjarag/venvs/guard/bin/python bench/relevance_gate.py RECORDS.jsonl [--out bench/results/relevance-gate.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from ninjarag.eval.answer_match import contains_answer
from report import emit
from services.common.contracts.guard import OutputGuardRequest
from services.common.contracts.search import evidence_text
from services.common.corpus import iter_passages
from services.common.paths import Home
from services.guard.serving import GuardService
from services.guard.settings import GuardSettings

THRESHOLDS = [round(0.05 * i, 2) for i in range(2, 13)]


async def quotes(rows: list[dict]) -> list[dict]:
    wanted = {pid for r in rows for pid in r["passage_ids"]}
    corpus = {p.id: p for p in iter_passages(Home.from_env().corpus) if p.id in wanted}
    settings = GuardSettings(cpu_threads=2)
    settings.apply_cpu_threads()
    guard = GuardService.build(settings)
    guard.warm_up()
    found = []
    for row in rows:
        passages = [corpus[pid] for pid in row["passage_ids"]]
        quote = (await guard.check_output(OutputGuardRequest(question=row["question"], sentences=[],
                                                             passages=passages, with_best_quote=True))).best_quote
        found.append({"retrievable": any(contains_answer(evidence_text(p.title, p.text), row["answers"]) for p in passages),
                      "relevance": quote.relevance if quote else 0.0,
                      "quote_holds_answer": bool(quote and contains_answer(quote.text, row["answers"]))})
    await guard.aclose()
    return found


def gate_report(found: list[dict]) -> dict:
    held = [f for f in found if f["retrievable"]]
    missing = [f for f in found if not f["retrievable"]]

    def refused(rows: list[dict], threshold: float) -> float | None:
        return round(sum(f["relevance"] < threshold for f in rows) / len(rows), 3) if rows else None

    return {
        "questions": len(found), "retrievable": len(held),
        "quote_holds_answer": round(sum(f["quote_holds_answer"] for f in found) / len(found), 3),
        "quote_holds_answer_when_retrievable": round(sum(f["quote_holds_answer"] for f in held) / len(held), 3)
        if held else None,
        "by_threshold": {f"{t:.2f}": {"refused_when_retrievable": refused(held, t),
                                      "refused_when_not_retrievable": refused(missing, t),
                                      "answers_lost": sum(f["quote_holds_answer"] and f["relevance"] < t for f in found)}
                         for t in THRESHOLDS},
    }


def table(report: dict) -> str:
    rows = ["| min relevance | refused, answer retrieved | refused, answer not retrieved | quotes holding an answer lost |",
            "|---|---|---|---|"]
    for threshold, row in report["by_threshold"].items():
        rows.append(f"| {threshold} | {row['refused_when_retrievable']} | {row['refused_when_not_retrievable']} | "
                    f"{row['answers_lost']} |")
    rows.append(f"\n{report['questions']} questions, {report['retrievable']} with an accepted answer retrieved; the best "
                f"quote holds an accepted answer for {report['quote_holds_answer']} of all, "
                f"{report['quote_holds_answer_when_retrievable']} of those.")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, help="records.jsonl of an eval run on train-part questions")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.records.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r["error_type"] is None and r["passage_ids"]]
    report = gate_report(asyncio.run(quotes(rows)))
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
