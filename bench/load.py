"""Load sweep against the running local stack's POST /v1/answer: for each concurrency level, that
many streaming clients ask distinct NQ-open dev questions for a fixed time; prints time to first
sentence and total latency p50/p95/p99, answers/s and errors by type, and plots them; and where the
CPU went per answer: each service's processes' CPU seconds, and the gateway's time per pipeline
stage (its own histograms). Every answer is fresh (`Cache-Control: no-cache`). Bounded in time and
requests per level; loopback only.

    bin/ninjarag up
    .ninjarag/venvs/cli/bin/python bench/load.py [--levels 1,4,16,64] [--seconds 60] [--max-requests 5000] \
        [--out bench/results/load.json]
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import random
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import httpx
import psutil

from ninjarag import keys
from ninjarag.client import ask_gateway
from ninjarag.settings import StackSettings
from report import emit, percentile
from services.common.contracts.answer import AnswerRequest
from services.common.paths import Home


def require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, not an address
        loopback = host == "localhost"
    if not loopback:
        raise SystemExit(f"refusing to load {url}: this benchmark only targets a gateway on this machine (loopback)")


async def sweep_level(url: str, key: str, questions: list[str], clients: int, seconds: float, max_requests: int,
                      max_tokens: int = 64) -> dict:
    """`clients` streaming clients for `seconds` (requests in flight at the end finish), at most
    `max_requests` sent. A client told 429/503 waits out Retry-After and asks the same question
    again, as a well-behaved client does."""
    pending = iter(questions)
    answers, errors = [], Counter()
    deadline = time.monotonic() + seconds
    sent = 0

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal sent
        question = next(pending, None)
        while question is not None and time.monotonic() < deadline and sent < max_requests:
            sent += 1
            answer = await ask_gateway(http, AnswerRequest(question=question, max_tokens=max_tokens), key)
            if answer.error_type:
                errors[answer.error_type] += 1
                if answer.retry_after_s:
                    await asyncio.sleep(answer.retry_after_s)
                    continue
            else:
                answers.append(answer)
            question = next(pending, None)

    started = time.monotonic()
    limits = httpx.Limits(max_connections=clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(600, connect=5), limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    wall = time.monotonic() - started
    first = [a.first_sentence_ms for a in answers if a.first_sentence_ms is not None]
    total = [a.total_ms for a in answers]
    return {
        "clients": clients, "seconds": round(wall, 1), "requests": sent,
        "answers": len(answers), "answers_per_s": round(len(answers) / wall, 3),
        "first_sentence_ms": {f"p{q}": round(percentile(first, q)) if first else None for q in (50, 95, 99)},
        "total_ms": {f"p{q}": round(percentile(total, q)) if total else None for q in (50, 95, 99)},
        "errors": dict(errors),
    }


def service_processes(settings: StackSettings) -> dict[str, list[psutil.Process]]:
    """Each service's listening process and its children (vLLM's engine, compile workers)."""
    ports = {"gateway": settings.gateway_port, "retriever": settings.retriever_port,
             "generator": settings.generator_port, "guard": settings.guard_port, "redis": settings.redis_port}
    by_port = {c.laddr.port: c.pid for c in psutil.net_connections("tcp") if c.status == psutil.CONN_LISTEN and c.pid}
    found = {}
    for name, port in ports.items():
        if port in by_port:
            process = psutil.Process(by_port[port])
            found[name] = [process, *process.children(recursive=True)]
    return found


def cpu_seconds(processes: dict[str, list[psutil.Process]]) -> dict[str, float]:
    totals = {}
    for name, group in processes.items():
        total = 0.0
        for process in group:
            try:
                times = process.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
            except psutil.NoSuchProcess:
                pass
        totals[name] = total
    return totals


def stage_seconds(url: str) -> dict[str, float]:
    """Sum of the gateway's per-stage latency histogram, by stage."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    sums = {}
    for line in text.splitlines():
        if line.startswith("ninjarag_answer_stage_seconds_sum{"):
            labels, _, value = line.partition("} ")
            sums[labels.split('stage="', 1)[1].split('"', 1)[0]] = float(value)
    return sums


def per_answer(before: dict[str, float], after: dict[str, float], answers: int) -> dict[str, float]:
    return {name: round((after[name] - before.get(name, 0.0)) / max(1, answers), 3) for name in after}


def cpu_table(rows: list[dict]) -> str:
    services = list(rows[0]["cpu_s_per_answer"])
    stages = sorted({stage for row in rows for stage in row["stage_s_per_answer"]})
    lines = ["| clients | " + " | ".join(f"{s} CPU s" for s in services) + " | total CPU s | "
             + " | ".join(f"{s} s" for s in stages) + " |", "|---" * (len(services) + len(stages) + 2) + "|"]
    for row in rows:
        cpu, stage = row["cpu_s_per_answer"], row["stage_s_per_answer"]
        lines.append(f"| {row['clients']} | " + " | ".join(str(cpu[s]) for s in services)
                     + f" | {round(sum(cpu.values()), 2)} | " + " | ".join(str(stage.get(s, 0)) for s in stages) + " |")
    return "\n".join(lines)


def shuffled_questions() -> list[str]:
    """NQ-open dev questions in a fixed order: every run and configuration asks the same ones."""
    questions = [json.loads(line)["question"] for line in Home.from_env().nq_dev.open()]
    random.Random(0).shuffle(questions)
    return questions


def sweep(settings: StackSettings, key: str, questions: list[str], levels: list[int], seconds: float,
          max_requests: int, max_tokens: int) -> list[dict]:
    """Each level in turn, with the CPU seconds and gateway stage seconds it cost per answer."""
    processes = service_processes(settings)
    share = len(questions) // len(levels)  # distinct questions per level: no prefix-cache help from an earlier one
    rows = []
    for number, clients in enumerate(levels):
        batch = questions[number * share:(number + 1) * share]
        cpu_before, stages_before = cpu_seconds(processes), stage_seconds(settings.gateway_url)
        row = asyncio.run(sweep_level(settings.gateway_url, key, batch, clients, seconds, max_requests, max_tokens))
        row["cpu_s_per_answer"] = per_answer(cpu_before, cpu_seconds(processes), row["answers"])
        row["stage_s_per_answer"] = per_answer(stages_before, stage_seconds(settings.gateway_url), row["answers"])
        rows.append(row)
        print(f"{clients} clients: {row['answers']} answers, {row['answers_per_s']}/s", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| clients | requests | answers/s | first sentence p50 / p95 / p99 ms | total p50 / p95 / p99 ms | errors |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        first, total = row["first_sentence_ms"], row["total_ms"]
        lines.append(f"| {row['clients']} | {row['requests']} | {row['answers_per_s']} | "
                     f"{first['p50']} / {first['p95']} / {first['p99']} | {total['p50']} / {total['p95']} / {total['p99']} | "
                     f"{', '.join(f'{k} {v}' for k, v in row['errors'].items()) or 'none'} |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only when plotting

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    clients = [row["clients"] for row in rows]
    fig, (latency_ax, rate_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    for field, label in (("first_sentence_ms", "first sentence"), ("total_ms", "total")):
        for q, style in (("p50", "-o"), ("p95", "--s")):
            latency_ax.plot(clients, [(row[field][q] or 0) / 1000 for row in rows], style, label=f"{label} {q}")
    latency_ax.set_xscale("log", base=2)
    latency_ax.set_xlabel("concurrent clients")
    latency_ax.set_ylabel("seconds")
    latency_ax.legend()
    rate_ax.plot(clients, [row["answers_per_s"] for row in rows], "-o", label="answers/s")
    rate_ax.bar(clients, [sum(row["errors"].values()) / max(1, row["requests"]) for row in rows],
                width=[c * 0.3 for c in clients], alpha=0.3, color="red", label="error share")
    rate_ax.set_xscale("log", base=2)
    rate_ax.set_xlabel("concurrent clients")
    rate_ax.legend()
    fig.suptitle("POST /v1/answer under load (fresh answers)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=60, help="per concurrency level")
    parser.add_argument("--max-requests", type=int, default=5000, help="sent per level, refused ones included")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--out", type=Path, help="JSON report; the plot goes beside it as .png")
    args = parser.parse_args()

    settings = StackSettings()
    require_loopback(settings.gateway_url)
    questions = shuffled_questions()
    key, _ = keys.create(settings, "bench-load", 1_000_000)  # the sweep measures the stack, not the rate limit
    levels = [int(level) for level in args.levels.split(",")]
    rows = sweep(settings, key, questions, levels, args.seconds, args.max_requests, args.max_tokens)
    report = {"gateway": settings.gateway_url, "levels": rows, "max_tokens": args.max_tokens}
    emit(report, table(rows) + "\n\nWhere the time goes, per answer:\n" + cpu_table(rows), args.out)
    if args.out:
        plot(rows, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
