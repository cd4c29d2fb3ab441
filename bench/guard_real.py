"""The output guard on real model sentences: sentences the served model wrote for NQ-open dev
questions of the train part (never the held-back part), labelled supported / not supported by
reading their passages (bench/data/guard-real/README.md says who labelled them and how).

    # 1. the items: sentences of an unguarded `ninjarag eval` run on train-part questions
    .ninjarag/venvs/guard/bin/python bench/guard_real.py items RECORDS.jsonl [--max 320]
    # 2. labels.jsonl is written by reading the items (see the README there)
    # 3. the detector's precision / recall / F1 for unsupported sentences, a threshold sweep, and
    #    the rule-built set's figures (bench/results/guard.json) beside them
    .ninjarag/venvs/guard/bin/python bench/guard_real.py score [--out bench/results/guard-real.json]

An item is judged as the gateway judges it: the question, the sentence, and the answer's
retrieved passages; a sentence is supported when what it cites (or, uncited, any passage) states it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from report import emit, prf
from services.common.contracts.guard import OutputGuardRequest
from services.common.contracts.search import Passage
from services.common.corpus import iter_passages
from services.common.paths import REPO_ROOT, Home
from services.guard.serving import GuardService
from services.guard.settings import GuardSettings

DATA = REPO_ROOT / "bench" / "data" / "guard-real"
ITEMS, LABELS = DATA / "items.jsonl", DATA / "labels.jsonl"
RULE_BUILT = REPO_ROOT / "bench" / "results" / "guard.json"


def build_items(records: Path, limit: int) -> list[dict]:
    rows = [json.loads(line) for line in records.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = sorted((r for r in rows if r["error_type"] is None and r["passage_ids"]), key=lambda r: r["id"])
    wanted = {pid for r in rows for pid in r["passage_ids"]}
    corpus = {p.id: p for p in iter_passages(Home.from_env().corpus) if p.id in wanted}
    items = []
    for row in rows:
        passages = [corpus[pid].model_dump(include={"id", "title", "text"}) for pid in row["passage_ids"]]
        for number, sentence in enumerate(row["sentences"]):
            if sentence["text"].strip() and len(items) < limit:
                items.append({"id": f"{row['id']}-{number}", "question": row["question"], "sentence": sentence["text"],
                              "cited": sentence["citations"], "passages": passages})
    return items


async def scores(items: list[dict]) -> dict[str, float]:
    settings = GuardSettings(cpu_threads=2)
    settings.apply_cpu_threads()
    guard = GuardService.build(settings)
    guard.warm_up()
    found = {}
    for item in items:
        request = OutputGuardRequest(question=item["question"], sentences=[item["sentence"]],
                                     passages=[Passage(**p) for p in item["passages"]])
        found[item["id"]] = (await guard.check_output(request)).sentences[0].support_score
    await guard.aclose()
    return found


def score_report() -> dict:
    items = {item["id"]: item for item in map(json.loads, ITEMS.read_text(encoding="utf-8").splitlines())}
    labels = [json.loads(line) for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    labelled = [items[label["id"]] for label in labels]
    support = asyncio.run(scores(labelled))
    truth = [not label["supported"] for label in labels]
    threshold = GuardSettings().support_threshold
    sweep = {f"{t:.2f}": prf(truth, [support[label["id"]] < t for label in labels])
             for t in [round(0.05 * i, 2) for i in range(1, 20)]}
    meets = {t: row for t, row in sweep.items() if row["recall"] >= 0.85 and row["precision"] >= 0.80}
    best = max(sweep, key=lambda t: sweep[t]["f1"])
    misses = [{"sentence": items[label["id"]]["sentence"], "support": support[label["id"]], "label": label}
              for label in labels if (support[label["id"]] < threshold) != (not label["supported"])]
    rule_built = json.loads(RULE_BUILT.read_text())["hallucination"] if RULE_BUILT.is_file() else None
    return {"labelled": len(labels), "threshold": threshold, "at_threshold": sweep.get(f"{threshold:.2f}"),
            "best_f1_threshold": best, "best_f1": sweep[best], "thresholds_meeting_target": sorted(meets),
            "sweep": sweep, "rule_built_set": rule_built and {k: rule_built[k] for k in ("precision", "recall", "f1")},
            "disagreements": misses[:15]}


def table(report: dict) -> str:
    rows = ["| set | threshold | precision | recall | F1 |", "|---|---|---|---|---|"]
    at = report["at_threshold"]
    rows.append(f"| real sentences ({report['labelled']}) | {report['threshold']} | {at['precision']} | "
                f"{at['recall']} | {at['f1']} |")
    best = report["best_f1"]
    rows.append(f"| real sentences, best F1 | {report['best_f1_threshold']} | {best['precision']} | {best['recall']} | "
                f"{best['f1']} |")
    if report["rule_built_set"]:
        rule = report["rule_built_set"]
        rows.append(f"| rule-built set | {report['threshold']} | {rule['precision']} | {rule['recall']} | {rule['f1']} |")
    rows.append(f"\nthresholds meeting recall >= 0.85 and precision >= 0.80: {report['thresholds_meeting_target'] or 'none'}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    items = commands.add_parser("items", help="write items.jsonl from an eval run's records")
    items.add_argument("records", type=Path)
    items.add_argument("--max", type=int, default=320)
    scoring = commands.add_parser("score", help="score the detector on the labelled items")
    scoring.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.command == "items":
        built = build_items(args.records, args.max)
        ITEMS.write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in built), encoding="utf-8")
        print(f"{len(built)} items -> {ITEMS}")
    else:
        report = score_report()
        emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
