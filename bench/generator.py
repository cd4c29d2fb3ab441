"""Generator benchmark: continuous batching throughput and time to first token by concurrency, the
service's overhead against vLLM's engine called directly with the same prompts, and how the
packer's two policies place real RAG prompts in buckets.

Run in the generator environment after `ninjarag prepare` (it starts the retriever for real
passages, then the generator, then an in-process engine; loopback only, bounded):
    .ninjarag/venvs/generator/bin/python bench/generator.py [--out bench/results/generator.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from report import emit, percentile
from services.common.paths import REPO_ROOT, Home

HOME = Home.from_env()
CONCURRENCY = (1, 4, 16, 32)
OUTPUT_TOKENS = 64
TARGET_PROMPT_TOKENS = 1000




def start(command: list[str], env: dict[str, str], ready_url: str, timeout_s: float = 600) -> subprocess.Popen:
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=REPO_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise SystemExit(f"{command} exited before it was ready")
        time.sleep(1)
    process.kill()
    raise SystemExit(f"{command} not ready in {timeout_s} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=60)


def retrieve(questions: list[str]) -> list[list[dict]]:
    """Top-10 passages per question from the demo index, through the real retriever."""
    port = 18901
    retriever = start([str(HOME.venv("retriever") / "bin" / "python"), "-m", "services.retriever"],
                      {"RETRIEVER_PORT": str(port), "RETRIEVER_LOG_LEVEL": "WARNING"}, f"http://127.0.0.1:{port}/readyz")
    try:
        results = []
        for start_at in range(0, len(questions), 32):
            body = {"queries": questions[start_at:start_at + 32], "k": 10, "mode": "hybrid"}
            response = httpx.post(f"http://127.0.0.1:{port}/v1/search/batch", json=body, timeout=120)
            response.raise_for_status()
            results += [[{k: p[k] for k in ("id", "title", "text")} for p in r["passages"]] for r in response.json()["results"]]
        return results
    finally:
        stop(retriever)


def packer_table(questions: list[str], passages: list[list[dict]]) -> dict:
    from services.common.contracts.search import Passage
    from services.generator.app import build_packer
    from services.generator.model_folder import load_tokenizer
    from services.generator.settings import GeneratorSettings

    settings = GeneratorSettings()
    tokenizer = load_tokenizer(HOME.generator_model)
    packer = build_packer(settings, tokenizer)
    table = {}
    for policy in ("quality", "latency"):
        buckets: dict[int, int] = {}
        waste, used, tokens = [], [], []
        for question, hits in zip(questions, passages, strict=True):
            packed = packer.pack(question, [Passage(**p) for p in hits], 256, policy)
            buckets[packed.bucket] = buckets.get(packed.bucket, 0) + 1
            waste.append(packed.padding_waste)
            used.append(len(packed.passages))
            tokens.append(packed.prompt_tokens)
        table[policy] = {"buckets": dict(sorted(buckets.items())), "mean_padding_waste": round(statistics.mean(waste), 1),
                         "mean_prompt_tokens": round(statistics.mean(tokens), 1),
                         "mean_passages": round(statistics.mean(used), 2)}
    return table


def rag_requests(questions: list[str], passages: list[list[dict]]) -> list[dict]:
    """Requests whose prompts come to about TARGET_PROMPT_TOKENS tokens (passages trimmed to fit)."""
    requests = []
    for question, hits in zip(questions, passages, strict=True):
        words, chosen = 0, []
        for passage in hits:
            if words >= TARGET_PROMPT_TOKENS * 0.68:  # about 1.3 tokens per word, plus the template
                break
            chosen.append(passage)
            words += len(passage["text"].split())
        requests.append({"question": question, "passages": chosen, "max_tokens": OUTPUT_TOKENS, "temperature": 0.0})
    return requests


def distinct_slices(requests: list[dict], levels: tuple[int, ...]) -> dict[int, list[dict]]:
    """Different prompts for each concurrency level: vLLM's prefix cache would otherwise make a
    prompt seen in an earlier run look fast."""
    slices, start = {}, 1  # requests[0] is the warm-up
    for level in levels:
        count = max(8, 2 * level)
        slices[level] = requests[start:start + count]
        start += count
    return slices


async def load_run(send, requests: list[dict], concurrency: int) -> dict:
    """`send(request) -> (ttft_s, total_s, completion_tokens)`; `concurrency` workers over the requests."""
    queue = list(requests)
    ttfts, totals, tokens = [], [], 0

    async def worker() -> None:
        nonlocal tokens
        while queue:
            ttft, total, generated = await send(queue.pop())
            ttfts.append(ttft)
            totals.append(total)
            tokens += generated

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    return {"requests": len(totals), "output_tokens_per_s": round(tokens / wall, 1),
            "ttft_p50_ms": round(percentile(ttfts, 50) * 1000), "ttft_p95_ms": round(percentile(ttfts, 95) * 1000),
            "latency_p50_ms": round(percentile(totals, 50) * 1000), "latency_p95_ms": round(percentile(totals, 95) * 1000)}


def service_runs(requests: list[dict], threads: int) -> dict:
    port = 18902
    env = {"GENERATOR_PORT": str(port), "GENERATOR_CPU_THREADS": str(threads), "GENERATOR_MAX_NUM_SEQS": "32",
           "GENERATOR_LOG_LEVEL": "WARNING"}
    generator = start([sys.executable, "-m", "services.generator"], env, f"http://127.0.0.1:{port}/readyz")
    try:
        async def run_all() -> dict:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
                async def send(request: dict) -> tuple[float, float, int]:
                    started = time.perf_counter()
                    first = None
                    async with http.stream("POST", "/v1/generate", json=request) as response:
                        response.raise_for_status()
                        async for line in response.aiter_lines():
                            if first is None and line.startswith("event: token"):
                                first = time.perf_counter()
                            if line.startswith("data: ") and '"usage"' in line:
                                generated = json.loads(line[6:])["usage"]["completion_tokens"]
                    ended = time.perf_counter()
                    return (first or ended) - started, ended - started, generated

                await send(requests[0])  # warm
                return {c: await load_run(send, batch, c) for c, batch in distinct_slices(requests, CONCURRENCY).items()}

        return asyncio.run(run_all())
    finally:
        stop(generator)


def direct_engine_runs(requests: list[dict], threads: int) -> tuple[dict, float]:
    """The same prompts through vLLM's AsyncLLM in this process, with the service's own engine settings."""
    os.environ.update({"GENERATOR_CPU_THREADS": str(threads), "GENERATOR_MAX_NUM_SEQS": "32"})
    from services.generator.app import build_packer, engine_kwargs, vllm_environment
    from services.generator.model_folder import load_tokenizer
    from services.generator.settings import GeneratorSettings
    from services.common.contracts.search import Passage

    settings = GeneratorSettings()
    settings.apply_cpu_threads()
    for key, value in vllm_environment(settings).items():
        os.environ.setdefault(key, value)
    tokenizer = load_tokenizer(HOME.generator_model)
    packer = build_packer(settings, tokenizer)
    token_ids = [packer.pack(r["question"], [Passage(**p) for p in r["passages"]], OUTPUT_TOKENS, "quality").token_ids
                 for r in requests]
    by_question = {r["question"]: ids for r, ids in zip(requests, token_ids, strict=True)}

    async def run_all() -> dict:
        from vllm import SamplingParams
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.sampling_params import RequestOutputKind
        from vllm.v1.engine.async_llm import AsyncLLM

        engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**engine_kwargs(settings)))
        counter = 0

        async def send(request: dict) -> tuple[float, float, int]:
            nonlocal counter
            counter += 1
            params = SamplingParams(max_tokens=OUTPUT_TOKENS, temperature=0.0, seed=None,
                                    output_kind=RequestOutputKind.DELTA)
            started, first, generated = time.perf_counter(), None, 0
            async for output in engine.generate({"prompt_token_ids": by_question[request["question"]]}, params,
                                                f"bench-{counter}"):
                generated += len(output.outputs[0].token_ids)
                if first is None and output.outputs[0].text:
                    first = time.perf_counter()
            ended = time.perf_counter()
            return (first or ended) - started, ended - started, generated

        try:
            await send(requests[0])
            slices = distinct_slices(requests, CONCURRENCY)  # the very prompts the service got at 1 and 16
            return {c: await load_run(send, slices[c], c) for c in (1, 16)}
        finally:
            engine.shutdown()

    return asyncio.run(run_all()), statistics.mean(len(ids) for ids in token_ids)


def table(report: dict) -> str:
    lines = ["| concurrent | output tok/s | vs 1 | TTFT p50 ms | TTFT p95 ms | latency p50 ms |", "|---|---|---|---|---|---|"]
    single = report["service"]["1"]["output_tokens_per_s"]
    for c, run in report["service"].items():
        lines.append(f"| {c} | {run['output_tokens_per_s']} | {run['output_tokens_per_s'] / single:.1f}x | "
                     f"{run['ttft_p50_ms']} | {run['ttft_p95_ms']} | {run['latency_p50_ms']} |")
    lines.append("\n| concurrent | service latency p50 ms | engine latency p50 ms | overhead |\n|---|---|---|---|")
    for c, overhead in report["overhead"].items():
        lines.append(f"| {c} | {overhead['service_p50_ms']} | {overhead['engine_p50_ms']} | {overhead['overhead_pct']}% |")
    lines.append("\n| policy | prompts per bucket | mean prompt tokens | mean passages | mean padding waste |\n|---|---|---|---|---|")
    for policy, row in report["packer"].items():
        lines.append(f"| {policy} | {row['buckets']} | {row['mean_prompt_tokens']} | {row['mean_passages']} | {row['mean_padding_waste']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    records = [json.loads(line) for line in HOME.nq_dev.open()]
    random.Random(0).shuffle(records)
    questions = [r["question"] for r in records[: args.questions]]
    passages = retrieve(questions)
    report = {"machine": {"cpus": os.cpu_count(), "threads": args.threads}, "packer": packer_table(questions, passages)}
    requests = rag_requests(questions, passages)
    service = service_runs(requests, args.threads)
    report["service"] = {str(c): run for c, run in service.items()}
    engine, prompt_tokens = direct_engine_runs(requests, args.threads)
    report["prompt_tokens_mean"] = round(prompt_tokens)
    report["engine"] = {str(c): run for c, run in engine.items()}
    report["overhead"] = {
        str(c): {"service_p50_ms": service[c]["latency_p50_ms"], "engine_p50_ms": engine[c]["latency_p50_ms"],
                 "overhead_pct": round(100 * (service[c]["latency_p50_ms"] / engine[c]["latency_p50_ms"] - 1), 1)}
        for c in engine
    }
    report["batching_speedup_at_16"] = round(service[16]["output_tokens_per_s"] / service[1]["output_tokens_per_s"], 1)
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
