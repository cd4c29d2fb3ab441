"""What every benchmark shares: percentiles, and printing JSON plus a table (and saving the JSON)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from ninjarag.eval.metrics import percentile  # noqa: F401 - re-exported for the benchmarks
from services.common.cpus import CPUINFO, available_cpus, has_native_bf16


def prf(truth: list[bool], predicted: list[bool]) -> dict:
    """Precision, recall and F1 of `predicted` against `truth` (True: the positive class)."""
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3),
            "positives": sum(truth), "negatives": len(truth) - sum(truth)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_description() -> dict:
    """Which CPU a result came from: these machines differ between sessions, and bf16 support alone
    changes encoder and model speed several times over."""
    model = next((line.split(":", 1)[1].strip() for line in CPUINFO.read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    return {"model": model, "cpus": available_cpus(), "native_bf16": has_native_bf16()}


def emit(report: dict, table: str, out: Path | None) -> None:
    report.setdefault("cpu", cpu_description())
    print(json.dumps(report, indent=2))
    print()
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
