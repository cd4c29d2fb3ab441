"""What every benchmark shares: percentiles, and printing JSON plus a table (and saving the JSON)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from ninjarag.eval.metrics import percentile  # noqa: F401 - re-exported for the benchmarks


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def emit(report: dict, table: str, out: Path | None) -> None:
    print(json.dumps(report, indent=2))
    print()
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=2) + "\n")
