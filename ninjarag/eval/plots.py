"""The PNG plots of one evaluation: accuracy by retrieval hit or miss, the latency histogram, and
recall@k curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from ninjarag.eval.records import Record  # noqa: E402


def write_plots(records: list[Record], summary: dict[str, dict], out: Path) -> list[Path]:
    return [_accuracy_by_retrieval(summary, out / "accuracy_by_retrieval.png"),
            _latency_histogram(records, out / "latency.png"),
            _recall_curve(records, out / "recall_at_k.png")]


def _accuracy_by_retrieval(summary: dict[str, dict], path: Path) -> Path:
    names = list(summary)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.27
    series = [("all questions", "accuracy"), ("answer in top 10", "accuracy_when_retrievable"),
              ("answer not in top 10", "accuracy_when_not_retrievable")]
    highest = 0.0
    for offset, (label, field) in enumerate(series):
        # No bar where the split does not apply (closed book retrieves nothing).
        shown = [(i, 100 * summary[n][field]) for i, n in enumerate(names) if summary[n][field] is not None]
        bars = ax.bar([i + (offset - 1) * width for i, _ in shown], [v for _, v in shown], width, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize="x-small")
        highest = max([highest, *(v for _, v in shown)])
    ax.set_ylim(0, max(10.0, highest * 1.2))
    ax.set_xticks(range(len(names)), names, rotation=15)
    ax.set_ylabel("answer accuracy (%)")
    ax.set_title("Accuracy by whether retrieval found the answer")
    ax.legend()
    return _save(fig, path)


def _latency_histogram(records: list[Record], path: Path) -> Path:
    fig, (first_ax, total_ax) = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    answered = [r for r in records if r.error_type is None]
    longest = max((r.total_ms / 1000 for r in answered), default=1.0)
    bins = [longest * i / 40 for i in range(41)]  # the same bins for every system, so the curves compare
    for name in dict.fromkeys(r.system for r in answered):
        rows = [r for r in answered if r.system == name]
        first = [r.first_sentence_ms / 1000 for r in rows if r.first_sentence_ms is not None]
        first_ax.hist(first, bins=bins, histtype="step", linewidth=1.5, label=name)
        total_ax.hist([r.total_ms / 1000 for r in rows], bins=bins, histtype="step", linewidth=1.5, label=name)
    first_ax.set_xlabel("time to first sentence (s)")
    total_ax.set_xlabel("total answer time (s)")
    first_ax.set_ylabel("answers")
    total_ax.legend(fontsize="small")
    fig.suptitle("Latency as the client sees it")
    return _save(fig, path)


def _recall_curve(records: list[Record], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ks = list(range(1, 11))
    # Guarded twins retrieve the same passages (less any screened out): one curve per retrieval mode.
    for name in dict.fromkeys(r.system for r in records if r.answer_rank is not None and "+guard" not in r.system):
        ranks = [r.answer_rank for r in records if r.system == name and r.error_type is None]
        ax.plot(ks, [100 * sum(0 < rank <= k for rank in ranks) / len(ranks) for k in ks], marker="o", label=name)
    ax.set_xlabel("k (passages)")
    ax.set_ylabel("recall@k (%)")
    ax.set_title("An accepted answer in the top k passages")
    ax.legend()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:  # noqa: ANN001 - a matplotlib Figure
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
