"""Gateway benchmark against the real local stack (started here on free loopback ports, stopped at
the end): the gateway's own overhead, cache-hit latency, and a sweep of concurrent streaming
clients (time to first sentence, answers/s, errors by type). Bounded in time and requests.

    .ninjarag/venvs/cli/bin/python bench/gateway.py [--seconds 40] [--out bench/results/gateway.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from pathlib import Path

import httpx

from load import sweep_level
from load import table as sweep_table
from ninjarag import keys, stack
from ninjarag.client import ask_gateway
from ninjarag.settings import StackSettings
from report import emit, free_port, percentile
from services.common.contracts.answer import AnswerRequest
from services.common.paths import Home

HOME = Home.from_env()
# Calls the gateway makes to other services (or Redis), as it times them (disjoint: `generate` is
# the time spent waiting on the generator, `output_guard` the sentence checks); the rest is its own work.
DOWNSTREAM_STAGES = ("input_guard", "versions", "cache", "retrieve", "screen", "generate", "output_guard", "cache_store")




async def overhead_and_cache(url: str, key: str, questions: list[str]) -> dict:
    overheads, cache_hits = [], []
    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
        for question in questions:
            request = AnswerRequest(question=question, top_k=10)
            answer = await ask_gateway(http, request, key, fresh=False)
            if answer.error_type:
                continue
            timings = answer.done.timings_ms
            overheads.append(answer.total_ms - sum(timings.get(stage, 0.0) for stage in DOWNSTREAM_STAGES))
            hit = await ask_gateway(http, request, key, fresh=False)
            if hit.done and hit.done.cache_hit:
                cache_hits.append(hit.total_ms)
    return {
        "overhead_ms": {"p50": round(percentile(overheads, 50), 2), "p95": round(percentile(overheads, 95), 2),
                        "answers": len(overheads)},
        "cache_hit_ms": {"p50": round(percentile(cache_hits, 50), 2), "p95": round(percentile(cache_hits, 95), 2),
                         "answers": len(cache_hits)},
    }


def table(report: dict) -> str:
    return "\n".join([f"gateway overhead: p50 {report['overhead_ms']['p50']} ms, p95 {report['overhead_ms']['p95']} ms "
                      f"({report['overhead_ms']['answers']} answers)",
                      f"cache hit: p50 {report['cache_hit_ms']['p50']} ms, p95 {report['cache_hit_ms']['p95']} ms", "",
                      sweep_table(report["sweep"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40, help="per concurrency level")
    parser.add_argument("--levels", default="1,8,32,64")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    records = [json.loads(line)["question"] for line in HOME.nq_dev.open()]
    random.Random(0).shuffle(records)
    run_dir = Path(tempfile.mkdtemp(prefix="ninjarag-bench-"))
    settings = StackSettings(run_dir=run_dir, gateway_port=free_port(), retriever_port=free_port(),
                             generator_port=free_port(), guard_port=free_port(), redis_port=free_port())
    stack.up(settings, print)
    try:
        key, _ = keys.create(settings, "bench", 100_000)
        report = asyncio.run(overhead_and_cache(settings.gateway_url, key, records[:10]))
        used = 10
        report["sweep"] = []
        for clients in map(int, args.levels.split(",")):
            batch = records[used: used + 400]
            used += 400
            report["sweep"].append(asyncio.run(sweep_level(settings.gateway_url, key, batch, clients, args.seconds,
                                                           max_requests=400, max_tokens=256)))
    finally:
        stack.down(settings)
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
