"""Evaluation questions: JSONL with `question` and `answers` (accepted answers), `id` optional; the
prepared NQ-open dev set has exactly this shape."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ninjarag.errors import UserError


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    answers: list[str]


def load_questions(path: Path, limit: int | None = None) -> list[EvalQuestion]:
    """The first `limit` questions of the file (all of them for None), in file order."""
    if not path.is_file():
        raise UserError(f"no question file {path}: run `ninjarag prepare` for the NQ-open dev set, or pass --questions")
    questions: list[EvalQuestion] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if limit is not None and len(questions) >= limit:
                break
            if not line.strip():
                continue
            questions.append(_parse(line, f"{path}:{number}"))
    if not questions:
        raise UserError(f"{path} holds no questions")
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise UserError(f"{path}: question ids repeat; give each line a distinct `id`")
    return questions


def _parse(line: str, where: str) -> EvalQuestion:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: not JSON ({exc.msg})") from None
    question, answers = item.get("question") if isinstance(item, dict) else None, item.get("answers")
    if not isinstance(question, str) or not question.strip():
        raise UserError(f"{where}: needs a non-empty string `question`")
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) for a in answers):
        raise UserError(f"{where}: needs `answers`, a non-empty list of accepted answer strings")
    # Without an id, one derived from the question keeps records stable across runs (resume).
    qid = str(item.get("id") or hashlib.sha1(question.encode()).hexdigest()[:12])
    return EvalQuestion(qid, question, answers)
