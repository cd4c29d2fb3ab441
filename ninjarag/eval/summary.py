"""Per-system aggregates of the records, and the markdown table."""

from __future__ import annotations

import statistics
from collections import Counter

from ninjarag.eval.metrics import percentile
from ninjarag.eval.records import RECALL_KS, Record


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def summarize(records: list[Record]) -> dict[str, dict]:
    by_system: dict[str, list[Record]] = {}
    for record in records:
        by_system.setdefault(record.system, []).append(record)
    return {name: _system_summary(rows) for name, rows in by_system.items()}


def _system_summary(rows: list[Record]) -> dict:
    answered = [r for r in rows if r.error_type is None]
    retrieved = [r for r in answered if r.recall is not None]
    cited = [r for r in answered if r.citation_recall is not None]
    released = sum(len(r.sentences) for r in answered if not r.refused)
    sentences = released + sum(r.dropped for r in answered)
    first = [r.first_sentence_ms for r in answered if r.first_sentence_ms is not None]
    total = [r.total_ms for r in answered]
    hit = [r for r in retrieved if r.retrievable]
    miss = [r for r in retrieved if not r.retrievable]
    return {
        "questions": len(rows),
        "answered": len(answered),
        "errors": dict(Counter(r.error_type for r in rows if r.error_type)),
        "cache_hits": sum(r.cache_hit for r in answered),
        "accuracy": _mean([r.accuracy for r in answered]),
        "exact_match": _mean([r.exact_match for r in answered]),
        "f1": _mean([r.f1 for r in answered]),
        "recall": {k: _mean([r.recall[k] for r in retrieved]) for k in RECALL_KS} if retrieved else None,
        "citation_precision": _mean([r.citation_precision for r in cited]),
        "citation_recall": _mean([r.citation_recall for r in cited]),
        "refused_share": _mean([float(r.refused) for r in answered]),
        "dropped_sentence_share": round(sum(r.dropped for r in answered) / sentences, 4) if sentences else None,
        "repeated_sentence_share": round(sum(r.repeated for r in answered) / released, 4) if released else None,
        "corrected_sentence_share": round(sum(r.corrected for r in answered) / sentences, 4) if sentences else None,
        "answer_citation_precision": _mean([r.answer_citation_precision for r in answered
                                            if r.answer_citation_precision is not None]),
        "first_sentence_ms": {"p50": percentile(first, 50), "p95": percentile(first, 95)} if first else None,
        "total_ms": {"p50": percentile(total, 50), "p95": percentile(total, 95)} if total else None,
        # Generation errors vs retrieval errors: accuracy where the answer was in the top 10, and where not.
        "accuracy_when_retrievable": _mean([r.accuracy for r in hit]),
        "accuracy_when_not_retrievable": _mean([r.accuracy for r in miss]),
        "retrievable_share": _mean([float(r.retrievable) for r in retrieved]),
        "mean_completion_tokens": _mean([r.completion_tokens for r in answered if r.completion_tokens is not None]),
        "mean_prompt_tokens": _mean([r.prompt_tokens for r in answered if r.prompt_tokens is not None]),
    }


def _cell(value: float | None, percent: bool = True) -> str:
    if value is None:
        return "—"
    return f"{100 * value:.1f}" if percent else f"{value:,.0f}"


def markdown_table(summary: dict[str, dict]) -> str:
    header = ("| system | n | accuracy | EM | F1 | R@1 | R@5 | R@10 | acc. retrievable / not | cit. P | cit. R "
              "| answer cited | refused | dropped sent. | corrected sent. | repeated sent. | first sentence p50 / p95 ms | total p50 / p95 ms | prompt tokens | answer tokens | errors |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for name, s in summary.items():
        recall = s["recall"] or {}
        first, total = s["first_sentence_ms"] or {}, s["total_ms"] or {}
        lines.append(" | ".join([
            f"| {name}", str(s["answered"]), _cell(s["accuracy"]), _cell(s["exact_match"]), _cell(s["f1"]),
            *(_cell(recall.get(k)) for k in RECALL_KS),
            f"{_cell(s['accuracy_when_retrievable'])} / {_cell(s['accuracy_when_not_retrievable'])}",
            _cell(s["citation_precision"]), _cell(s["citation_recall"]), _cell(s.get("answer_citation_precision")),
            _cell(s["refused_share"]), _cell(s["dropped_sentence_share"]), _cell(s.get("corrected_sentence_share")),
            _cell(s.get("repeated_sentence_share")),
            f"{_cell(first.get('p50'), False)} / {_cell(first.get('p95'), False)}",
            f"{_cell(total.get('p50'), False)} / {_cell(total.get('p95'), False)}",
            _cell(s.get("mean_prompt_tokens"), False), _cell(s["mean_completion_tokens"], False),
            ", ".join(f"{k} {v}" for k, v in s["errors"].items()) or "0",
        ]) + " |")
    return "\n".join(lines)
