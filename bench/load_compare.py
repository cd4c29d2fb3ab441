"""Serving configurations compared in one run: for each, restart the local stack with its
environment (fresh caches: a restart empties vLLM's prefix cache and the guard's), run bench/load.py's
sweep on the same questions, and print answers/s, first-sentence latency and CPU seconds per
answer side by side, with the ratio of each configuration to the first.

    .ninjarag/venvs/cli/bin/python bench/load_compare.py \
        --config before:GENERATOR_CPU_THREADS=1,GUARD_CPU_THREADS=1 --config after: \
        [--levels 1,4] [--seconds 60] [--out bench/results/load-compare.json]
Leaves the stack running with the last configuration's environment.
"""

from __future__ import annotations

import argparse
import os
import subprocess
from pathlib import Path

from load import require_loopback, shuffled_questions, sweep
from ninjarag import keys
from ninjarag.settings import StackSettings
from report import emit
from services.common.paths import REPO_ROOT


def parse_config(text: str) -> tuple[str, dict[str, str]]:
    name, _, assignments = text.partition(":")
    environment = dict(item.split("=", 1) for item in assignments.split(",") if item)
    return name, environment


def restart_stack(environment: dict[str, str]) -> None:
    ninjarag = str(REPO_ROOT / "bin" / "ninjarag")
    subprocess.run([ninjarag, "down"], check=False, capture_output=True)
    subprocess.run([ninjarag, "up"], check=True, capture_output=True, env={**os.environ, **environment})


def table(results: dict[str, list[dict]]) -> str:
    first = next(iter(results))
    lines = ["| config | clients | answers | answers/s (x first) | first sentence p50 ms | total CPU s per answer | by service |",
             "|---|---|---|---|---|---|---|"]
    for name, rows in results.items():
        for row, base in zip(rows, results[first], strict=True):
            ratio = row["answers_per_s"] / base["answers_per_s"] if base["answers_per_s"] else 0.0
            cpu = row["cpu_s_per_answer"]
            by_service = ", ".join(f"{service} {seconds}" for service, seconds in cpu.items() if service != "redis")
            lines.append(f"| {name} | {row['clients']} | {row['answers']} | {row['answers_per_s']} ({ratio:.2f}x) | "
                         f"{row['first_sentence_ms']['p50']} | {round(sum(cpu.values()), 2)} | {by_service} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", required=True, help="NAME:VAR=VALUE,VAR=VALUE (VARs may be none)")
    parser.add_argument("--levels", default="1,4")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    require_loopback(StackSettings().gateway_url)
    questions = shuffled_questions()
    levels = [int(level) for level in args.levels.split(",")]
    results, environments = {}, {}
    for text in args.config:
        name, environment = parse_config(text)
        restart_stack(environment)
        environments[name] = environment
        settings = StackSettings()
        key, _ = keys.create(settings, "bench-load-compare", 1_000_000)
        results[name] = sweep(settings, key, questions, levels, args.seconds, max_requests=5000, max_tokens=64)
        print(f"{name}: " + ", ".join(f"{r['clients']} clients {r['answers_per_s']}/s" for r in results[name]), flush=True)
    report = {"configs": environments, "levels": levels, "seconds_per_level": args.seconds, "results": results}
    emit(report, table(results), args.out)


if __name__ == "__main__":
    main()
