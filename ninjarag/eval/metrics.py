"""Per-question metrics, as FlashRAG / DPR define them (normalisation: lowercase, punctuation and
articles removed, whitespace collapsed):

- accuracy: a normalised accepted answer occurs in the normalised answer (the DBRX RAG eval's
  "matching within the model's answer", FlashRAG's `acc`);
- exact match: the normalised answer equals a normalised accepted answer;
- token F1: the best SQuAD-style token F1 over the accepted answers;
- recall@k: an accepted answer occurs in one of the top-k passages.
A refusal scores 0 on all three answer metrics: `records.score` scores it as an empty answer.
"""

from __future__ import annotations

from collections import Counter

from ninjarag.eval.answer_match import contains_answer, normalize_answer


def accuracy(answer: str, accepted: list[str]) -> float:
    return float(contains_answer(answer, accepted))


def exact_match(answer: str, accepted: list[str]) -> float:
    normalised = normalize_answer(answer)
    return float(bool(normalised) and any(normalised == normalize_answer(a) for a in accepted))


def token_f1(answer: str, accepted: list[str]) -> float:
    predicted = normalize_answer(answer).split()
    best = 0.0
    for gold in (normalize_answer(a).split() for a in accepted):
        common = sum((Counter(predicted) & Counter(gold)).values())
        if common:
            precision, recall = common / len(predicted), common / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def recall_at(passages: list[str], accepted: list[str], k: int) -> float:
    return float(0 < answer_rank(passages, accepted) <= k)


def answer_rank(passages: list[str], accepted: list[str]) -> int:
    """The 1-based rank of the first passage holding an accepted answer; 0 when none does."""
    return next((rank for rank, text in enumerate(passages, start=1) if contains_answer(text, accepted)), 0)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")
