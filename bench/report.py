"""What every benchmark shares: percentiles, and printing JSON plus a table (and saving the JSON)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from ninjarag.eval.metrics import percentile  # noqa: F401 - re-exported for the benchmarks
from services.common.cpus import CPUINFO, available_cpus, has_native_bf16


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
