"""One record per (system, question): what was asked, what came back, how it scored and how long it
took. Records are appended to a JSONL file as they finish, so an interrupted run resumes."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from ninjarag.eval.citations import CitationScores
from ninjarag.eval.client import GatewayAnswer
from ninjarag.eval.dataset import EvalQuestion
from ninjarag.eval.metrics import accuracy, answer_rank, exact_match, token_f1
from ninjarag.eval.systems import System
from services.common.sentences import strip_citations

RECALL_KS = (1, 5, 10)


class Record(BaseModel):
    system: str
    id: str
    question: str
    answers: list[str]
    passage_ids: list[str]
    answer: str
    sentences: list[dict]
    verdict: str | None
    refused: bool
    dropped: int
    accuracy: float
    exact_match: float
    f1: float
    answer_rank: int | None  # of the first passage holding an accepted answer; 0: none does; None: no retrieval
    recall: dict[int, float] | None  # k -> hit; None without retrieval
    retrievable: bool | None  # an accepted answer in the top 10 passages
    citation_precision: float | None  # None when there is nothing to cite from, or a refusal
    citation_recall: float | None
    cache_hit: bool = False  # replayed from the gateway's answer cache: not a fresh answer
    first_sentence_ms: float | None
    total_ms: float
    server_timings_ms: dict[str, float]
    error_type: str | None
    error: str | None

    @property
    def key(self) -> tuple[str, str]:
        return self.system, self.id


def score(system: System, question: EvalQuestion, answer: GatewayAnswer, citations: CitationScores | None) -> Record:
    refused = answer.verdict == "refuse"
    # Citation markers are not part of the answer: "[1]" would otherwise match an answer "1".
    text = "" if refused or answer.error_type else strip_citations(answer.text)
    passages = [f"{s['title']}. {s['text']}" if s.get("title") else s["text"] for s in answer.sources]
    rank = None if system.retrieval == "none" else answer_rank(passages, question.answers)
    recall = None if rank is None else {k: float(0 < rank <= k) for k in RECALL_KS}
    return Record(
        system=system.name, id=question.id, question=question.question, answers=question.answers,
        passage_ids=[s["id"] for s in answer.sources], answer=answer.text, sentences=answer.sentences,
        verdict=answer.verdict, refused=refused, dropped=answer.dropped,
        accuracy=accuracy(text, question.answers), exact_match=exact_match(text, question.answers),
        f1=token_f1(text, question.answers),
        answer_rank=rank, recall=recall, retrievable=None if recall is None else bool(recall[10]),
        citation_precision=citations.precision if citations else None,
        citation_recall=citations.recall if citations else None,
        cache_hit=answer.cache_hit, first_sentence_ms=answer.first_sentence_ms, total_ms=answer.total_ms,
        server_timings_ms=answer.server_timings_ms, error_type=answer.error_type, error=answer.error,
    )


class RecordStore:
    """records.jsonl under the run's folder; a line cut off by an interruption is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> list[Record]:
        if not self.path.is_file():
            return []
        records = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                records.append(Record.model_validate_json(line))
            except ValueError:
                continue
        return records

    def append(self, record: Record) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(record.model_dump_json() + "\n")
            out.flush()

    def reset(self) -> None:
        self.path.unlink(missing_ok=True)
