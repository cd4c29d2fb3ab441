"""Shadow overhead on the running local stack with a second generator (`NINJARAG_COMPARE_MODEL=<name>
ninjarag up`): two gateways started here beside the stack's, on free ports, sharing its services and
Redis, one with no variants, one whose shadow variant (the compare generator) answers a copy of 100%
of live answers. One client asks both, fresh answers, in alternating blocks (so drift hits both
alike); every shadow copy of a block has ended (answered, preempted, expired or skipped, by the
gateway's own counter) before the next block starts, so that no copy runs beside the other gateway's
answers. Reports the live first sentence p50 of each and their ratio, and what became of the copies.

    cd bench && ../.ninjarag/venvs/cli/bin/python shadow.py [--questions 40] [--out results/shadow.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import time
from pathlib import Path

import httpx

from ninjarag import keys, stack_programs
from ninjarag.client import ask_gateway
from ninjarag.settings import StackSettings
from rag_prompts import start as start_process
from rag_prompts import stop
from report import emit, free_port, percentile
from services.common.contracts.answer import AnswerRequest
from services.common.paths import Home

HOME = Home.from_env()
BLOCK = 5
SHADOWED = "with_shadow_100pct"


def start_gateway(settings: StackSettings, port: int, variants: list[dict]) -> subprocess.Popen:
    gateway = next(p for p in stack_programs.programs(settings) if p.name == "gateway")
    env = {**gateway.environment, "GATEWAY_PORT": str(port), "GATEWAY_VARIANTS": json.dumps(variants),
           "GATEWAY_LOG_LEVEL": "WARNING", "GATEWAY_MAX_PENDING_SHADOWS": "4"}
    return start_process(gateway.command.split(), env, f"http://127.0.0.1:{port}/readyz", timeout_s=120)


async def first_sentence_ms(url: str, key: str, question: str) -> float | None:
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        answer = await ask_gateway(client, AnswerRequest(question=question, top_k=10), key, fresh=True)
    return answer.first_sentence_ms if answer.error_type is None else None


def shadow_outcomes(url: str) -> dict[str, float]:
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    return {line.split('outcome="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines() if line.startswith("ninjarag_shadow_copies_total{")}


async def drained(url: str, copies: int, timeout_s: float) -> None:
    """Until the gateway has settled `copies` shadow copies one way or another."""
    deadline = time.monotonic() + timeout_s
    while sum(shadow_outcomes(url).values()) < copies and time.monotonic() < deadline:
        await asyncio.sleep(0.5)


async def measure(urls: dict[str, str], key: str, questions: list[str], drain_s: float) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in urls}
    asked = 0  # answers of the shadowed gateway: each offers one copy
    for start in range(0, len(questions), BLOCK):
        order = list(urls) if (start // BLOCK) % 2 == 0 else list(reversed(urls))
        for name in order:
            for question in questions[start:start + BLOCK]:
                if (ms := await first_sentence_ms(urls[name], key, question)) is not None:
                    times[name].append(ms)
                asked += name == SHADOWED
            await drained(urls[SHADOWED], asked, drain_s)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--drain-seconds", type=float, default=300.0, help="At most this long for a block's copies.")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = StackSettings()
    if not settings.compare_model:
        raise SystemExit("start the stack with a second generator first: NINJARAG_COMPARE_MODEL=<model> ninjarag up")
    live = f"http://{settings.host}:{settings.generator_port}"
    shadow = f"http://{settings.host}:{settings.generator_port + settings.compare_port_offset}"
    questions = [json.loads(line)["question"] for line in HOME.nq_heldback.open(encoding="utf-8")]
    random.Random(1).shuffle(questions)
    questions = questions[:args.questions]
    ports = {"without_shadow": free_port(), SHADOWED: free_port()}
    variants = {"without_shadow": [{"name": "base", "generator_url": live}],
                SHADOWED: [{"name": "base", "generator_url": live},
                                       {"name": "candidate", "generator_url": shadow, "weight": 0, "shadow": True,
                                        "sample": 1.0}]}
    processes = [start_gateway(settings, ports[name], variants[name]) for name in ports]
    try:
        key = keys.demo_key(settings)
        urls = {name: f"http://{settings.host}:{port}" for name, port in ports.items()}
        times = asyncio.run(measure(urls, key, questions, args.drain_seconds))
        report_body = httpx.get(f"{urls[SHADOWED]}/v1/variants/report", params={"last": 1000},
                                headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
        copies = shadow_outcomes(urls[SHADOWED])
    finally:
        for process in processes:
            stop(process)
    p50 = {name: round(percentile(values, 50), 1) for name, values in times.items()}
    report = {
        "questions": len(questions), "answers": {name: len(v) for name, v in times.items()},
        "first_sentence_p50_ms": p50,
        "first_sentence_p95_ms": {name: round(percentile(v, 95), 1) for name, v in times.items()},
        "p50_ratio_with_vs_without": round(p50[SHADOWED] / p50["without_shadow"], 3),
        "shadow_copies": copies, "variant_report": report_body,
    }
    table = (f"live first sentence p50: without shadow {p50['without_shadow']} ms, with a shadow at 100% "
             f"{p50[SHADOWED]} ms (x{report['p50_ratio_with_vs_without']}); shadow copies {copies}")
    emit(report, table, args.out)


if __name__ == "__main__":
    main()
