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
import time
from pathlib import Path

import httpx

from ninjarag import keys, stack
from ninjarag.settings import StackSettings
from report import emit, free_port, percentile
from services.common.paths import Home

HOME = Home.from_env()
# Calls the gateway makes to other services (or Redis), as it times them (disjoint: `generate` is
# the time spent waiting on the generator, `output_guard` the sentence checks); the rest is its own work.
DOWNSTREAM_STAGES = ("input_guard", "versions", "cache", "retrieve", "screen", "generate", "output_guard", "cache_store")




async def one_answer(http: httpx.AsyncClient, key: str, question: str) -> dict:
    started = time.perf_counter()
    first_sentence, events, status = None, [], None
    async with http.stream("POST", "/v1/answer", json={"question": question, "top_k": 10},
                           headers={"Authorization": f"Bearer {key}"}) as response:
        status = response.status_code
        if status != 200:
            await response.aread()
            return {"status": status, "error": response.json().get("type", str(status)), "total": time.perf_counter() - started}
        name = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line[7:]
                if name == "sentence" and first_sentence is None:
                    first_sentence = time.perf_counter() - started
            elif line.startswith("data: "):
                events.append((name, json.loads(line[6:])))
    total = time.perf_counter() - started
    last_name, last = events[-1]
    result = {"status": status, "total": total, "first_sentence": first_sentence}
    if last_name == "error":
        result["error"] = last["type"]
    else:
        result["done"] = last
    return result


async def overhead_and_cache(url: str, key: str, questions: list[str]) -> dict:
    overheads, cache_hits = [], []
    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
        for question in questions:
            result = await one_answer(http, key, question)
            if "done" not in result:
                continue
            timings = result["done"]["timings_ms"]
            overheads.append(result["total"] * 1000 - sum(timings.get(stage, 0.0) for stage in DOWNSTREAM_STAGES))
            hit = await one_answer(http, key, question)
            if hit.get("done", {}).get("cache_hit"):
                cache_hits.append(hit["total"] * 1000)
    return {
        "overhead_ms": {"p50": round(percentile(overheads, 50), 2), "p95": round(percentile(overheads, 95), 2),
                        "answers": len(overheads)},
        "cache_hit_ms": {"p50": round(percentile(cache_hits, 50), 2), "p95": round(percentile(cache_hits, 95), 2),
                         "answers": len(cache_hits)},
    }


async def sweep_level(url: str, key: str, questions: list[str], clients: int, seconds: float) -> dict:
    queue = list(questions)
    results: list[dict] = []
    deadline = time.monotonic() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        while queue and time.monotonic() < deadline:
            try:
                result = await one_answer(http, key, queue.pop())
            except httpx.HTTPError as exc:
                result = {"status": 0, "error": type(exc).__name__, "total": 0.0}
            results.append(result)
            if result["status"] == 503:
                await asyncio.sleep(1.0)  # a well-behaved client honours Retry-After

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=httpx.Limits(max_connections=clients + 4)) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    wall = time.monotonic() - started
    answered = [r for r in results if "done" in r]
    shed = sum(r["status"] == 503 for r in results)
    errors: dict[str, int] = {}
    for r in results:
        if "error" in r and r["status"] != 503:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    firsts = [r["first_sentence"] for r in answered if r["first_sentence"] is not None]
    return {"clients": clients, "requests": len(results), "answers": len(answered), "shed_503": shed,
            "answers_per_s": round(len(answered) / wall, 2),
            "first_sentence_p50_ms": round(percentile(firsts, 50) * 1000), "first_sentence_p95_ms": round(percentile(firsts, 95) * 1000),
            "total_p50_ms": round(percentile([r["total"] for r in answered], 50) * 1000),
            "errors": errors}


def table(report: dict) -> str:
    lines = [f"gateway overhead: p50 {report['overhead_ms']['p50']} ms, p95 {report['overhead_ms']['p95']} ms "
             f"({report['overhead_ms']['answers']} answers)",
             f"cache hit: p50 {report['cache_hit_ms']['p50']} ms, p95 {report['cache_hit_ms']['p95']} ms", "",
             "| clients | requests | answers/s | first sentence p50 ms | p95 ms | total p50 ms | 503 (shed) | errors |",
             "|---|---|---|---|---|---|---|---|"]
    for row in report["sweep"]:
        lines.append(f"| {row['clients']} | {row['requests']} | {row['answers_per_s']} | {row['first_sentence_p50_ms']} | "
                     f"{row['first_sentence_p95_ms']} | {row['total_p50_ms']} | {row['shed_503']} | {row['errors'] or 'none'} |")
    return "\n".join(lines)


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
            report["sweep"].append(asyncio.run(sweep_level(settings.gateway_url, key, batch, clients, args.seconds)))
    finally:
        stack.down(settings)
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
