"""This system's own workload per answer, from `ninjarag eval` records: prompt and completion tokens
(their mean and spread) and how many tokens the first sentence takes, by evaluated system."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from ninjarag.capacity.simulator import Workload


def workloads_from_results(path: Path) -> dict[str, Workload]:
    records = json.loads(path.read_text())["records"]
    by_system: dict[str, list[dict]] = {}
    for record in records:
        if record.get("prompt_tokens") and record.get("completion_tokens") and not record.get("error_type"):
            by_system.setdefault(record["system"], []).append(record)
    return {system: _workload(rows) for system, rows in by_system.items() if len(rows) >= 2}


def _workload(rows: list[dict]) -> Workload:
    prompts = [r["prompt_tokens"] for r in rows]
    completions = [r["completion_tokens"] for r in rows]
    # The first sentence's share of the answer's characters, as its share of the tokens.
    first = [r["completion_tokens"] * len(r["sentences"][0]["text"]) / max(1, sum(len(s["text"]) for s in r["sentences"]))
             for r in rows if r.get("sentences")]
    return Workload(statistics.fmean(prompts), statistics.fmean(completions), statistics.stdev(prompts),
                    statistics.stdev(completions), first_sentence_tokens=statistics.fmean(first) if first else 1.0)
