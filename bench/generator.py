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
import itertools
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import NamedTuple

import httpx
from rag_prompts import HOME, OUTPUT_TOKENS, distinct_slices, packer_table, rag_requests, retrieve, start, stop
from report import emit, percentile

CONCURRENCY = (1, 4, 16, 32)




class Measured(NamedTuple):
    ttft_s: float
    total_s: float
    tokens: int


def summary(measured: list[Measured], wall_s: float) -> dict:
    ttfts, totals = [m.ttft_s for m in measured], [m.total_s for m in measured]
    tokens = sum(m.tokens for m in measured)
    return {"requests": len(measured), "output_tokens": tokens, "wall_s": round(wall_s, 2),
            "output_tokens_per_s": round(tokens / wall_s, 1),
            "ttft_p50_ms": round(percentile(ttfts, 50) * 1000), "ttft_p95_ms": round(percentile(ttfts, 95) * 1000),
            "latency_p50_ms": round(percentile(totals, 50) * 1000), "latency_p95_ms": round(percentile(totals, 95) * 1000)}


async def load_run(send, requests: list[dict], concurrency: int) -> dict:  # noqa: ANN001
    """`send(request) -> Measured`; `concurrency` workers over the requests."""
    queue, measured = list(requests), []

    async def worker() -> None:
        while queue:
            measured.append(await send(queue.pop()))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return summary(measured, time.perf_counter() - started)


async def paired_single(service_send, engine_send, requests: list[dict]) -> tuple[dict, dict, dict]:  # noqa: ANN001
    """One request at a time, each prompt to the service and then straight to the engine: the
    overhead as a per-request ratio under the same conditions (each side has its own prefix cache)."""
    service, engine = [], []
    for request in requests:
        service.append(await service_send(request))
        engine.append(await engine_send(request))
    ratios = [s.total_s / e.total_s - 1 for s, e in zip(service, engine, strict=True)]
    per_token = [(s.total_s / max(1, s.tokens)) / (e.total_s / max(1, e.tokens)) - 1
                 for s, e in zip(service, engine, strict=True)]
    paired = {"requests": len(ratios), "overhead_p50_pct": round(100 * statistics.median(ratios), 1),
              "overhead_mean_pct": round(100 * statistics.fmean(ratios), 1),
              "overhead_per_token_p50_pct": round(100 * statistics.median(per_token), 1),
              "same_token_counts": sum(s.tokens == e.tokens for s, e in zip(service, engine, strict=True)),
              "added_ms_p50": round(1000 * statistics.median(s.total_s - e.total_s for s, e in zip(service, engine, strict=True)), 1)}
    return (summary(service, sum(m.total_s for m in service)), summary(engine, sum(m.total_s for m in engine)), paired)


def prompt_tokens(requests: list[dict], token_ids: dict[str, list[int]]) -> list[int]:
    return [len(token_ids[r["question"]]) for r in requests]


async def prefill_ceiling(prefill_send, slices: dict[int, list[dict]], token_ids: dict[str, list[int]],  # noqa: ANN001
                          single: dict, rag_16: dict) -> dict:
    """Prompt tokens/s of prefill alone (one output token each) at 1 and 16 concurrent, on prompts
    the in-process engine has not seen (its prefix cache is cold for them: those slices went only
    to the service). At 16 concurrent the engine must prefill every prompt, so no scheduler can
    give more output tokens/s than that prefill rate x the output tokens per prompt token of the
    16-concurrent RAG run (`rag_16`, over `slices[16]`); `single` is the one-at-a-time run."""
    rates = {}
    for level, requests in ((1, slices[4][:8]), (16, slices[32][:32])):
        run = await load_run(prefill_send, requests, level)
        rates[level] = sum(prompt_tokens(requests, token_ids)) / run["wall_s"]
    ceiling = rates[16] * rag_16["output_tokens"] / sum(prompt_tokens(slices[16], token_ids))
    return {"prompt_tokens_per_s_at_1": round(rates[1]), "prompt_tokens_per_s_at_16": round(rates[16]),
            "output_tokens_per_s_ceiling_at_16": round(ceiling, 1),
            "batching_speedup_ceiling_at_16": round(ceiling / single["output_tokens_per_s"], 1)}


def service_sender(http: httpx.AsyncClient):  # noqa: ANN201
    async def send(request: dict) -> Measured:
        started, first, generated = time.perf_counter(), None, 0
        async with http.stream("POST", "/v1/generate", json=request) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if first is None and line.startswith("event: token"):
                    first = time.perf_counter()
                if line.startswith("data: ") and '"usage"' in line:
                    generated = json.loads(line[6:])["usage"]["completion_tokens"]
        ended = time.perf_counter()
        return Measured((first or ended) - started, ended - started, generated)

    return send


# One sequence for every sender: vLLM aborts by the id given here, every request that shares it.
ENGINE_REQUEST_IDS = itertools.count()


def engine_sender(engine, token_ids: dict[str, list[int]], max_tokens: int = OUTPUT_TOKENS):  # noqa: ANN001, ANN201 - a vLLM AsyncLLM
    from vllm import SamplingParams
    from vllm.sampling_params import RequestOutputKind

    async def send(request: dict) -> Measured:
        params = SamplingParams(max_tokens=max_tokens, temperature=0.0, seed=None, output_kind=RequestOutputKind.DELTA)
        started, first, generated = time.perf_counter(), None, 0
        async for output in engine.generate({"prompt_token_ids": token_ids[request["question"]]}, params,
                                            f"bench-{next(ENGINE_REQUEST_IDS)}"):
            generated += len(output.outputs[0].token_ids)
            if first is None and output.outputs[0].text:
                first = time.perf_counter()
        ended = time.perf_counter()
        return Measured((first or ended) - started, ended - started, generated)

    return send


def measure(requests: list[dict], threads: int) -> dict:
    """The service (its own process and engine) and vLLM's AsyncLLM in this process, with the
    service's engine settings, both up at once and driven in turn with the same prompts."""
    settings_env = {"GENERATOR_CPU_THREADS": str(threads), "GENERATOR_MAX_NUM_SEQS": "32"}
    port = 18902
    generator = start([sys.executable, "-m", "services.generator"],
                      {**settings_env, "GENERATOR_PORT": str(port), "GENERATOR_LOG_LEVEL": "WARNING"},
                      f"http://127.0.0.1:{port}/readyz")
    os.environ.update(settings_env)
    from services.common.contracts.search import Passage
    from services.generator.engines import engine_kwargs, vllm_environment
    from services.generator.model_folder import load_tokenizer
    from services.generator.packing import build_packer
    from services.generator.settings import GeneratorSettings

    settings = GeneratorSettings()
    settings.apply_cpu_threads()
    for key, value in vllm_environment(settings).items():
        os.environ.setdefault(key, value)
    packer = build_packer(settings, load_tokenizer(settings.model_path))
    token_ids = {r["question"]: packer.pack(r["question"], [Passage(**p) for p in r["passages"]], OUTPUT_TOKENS,
                                            "quality").token_ids for r in requests}

    async def run_all() -> dict:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**engine_kwargs(settings)))
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=600) as http:
                service_send, engine_send = service_sender(http), engine_sender(engine, token_ids)
                await service_send(requests[0])
                await engine_send(requests[0])
                slices = distinct_slices(requests, CONCURRENCY)
                service_single, engine_single, paired = await paired_single(service_send, engine_send, slices[1])
                report = {"service": {1: service_single}, "engine": {1: engine_single}, "paired_single": paired}
                for level in CONCURRENCY[1:]:
                    report["service"][level] = await load_run(service_send, slices[level], level)
                report["engine"][16] = await load_run(engine_send, slices[16], 16)
                report["prefill"] = await prefill_ceiling(engine_sender(engine, token_ids, max_tokens=1), slices, token_ids,
                                                          service_single, report["service"][16])
                # Short (closed-book) prompts: decode dominates, so this is what batching alone gives.
                short = [{"question": r["question"], "passages": [], "max_tokens": OUTPUT_TOKENS, "temperature": 0.0}
                         for r in requests[-48:]]
                report["short_prompts"] = {1: await load_run(service_send, short[:8], 1),
                                           16: await load_run(service_send, short[8:], 16)}
                report["prompt_tokens_mean"] = round(statistics.fmean(prompt_tokens(slices[1], token_ids)))
                return report
        finally:
            engine.shutdown()

    try:
        return asyncio.run(run_all())
    finally:
        stop(generator)


def table(report: dict) -> str:
    lines = ["| concurrent | output tok/s | vs 1 | TTFT p50 ms | TTFT p95 ms | latency p50 ms |", "|---|---|---|---|---|---|"]
    single = report["service"]["1"]["output_tokens_per_s"]
    for c, run in report["service"].items():
        lines.append(f"| {c} | {run['output_tokens_per_s']} | {run['output_tokens_per_s'] / single:.1f}x | "
                     f"{run['ttft_p50_ms']} | {run['ttft_p95_ms']} | {run['latency_p50_ms']} |")
    prefill = report["prefill"]
    lines.append(f"prefill alone: {prefill['prompt_tokens_per_s_at_1']} prompt tok/s at 1, "
                 f"{prefill['prompt_tokens_per_s_at_16']} at 16; so at 16 no schedule exceeds "
                 f"{prefill['output_tokens_per_s_ceiling_at_16']} output tok/s "
                 f"({prefill['batching_speedup_ceiling_at_16']}x the single request) with these prompts")
    short = report["short_prompts"]
    lines.append(f"closed-book prompts (decode-bound): {short['1']['output_tokens_per_s']} tok/s at 1, "
                 f"{short['16']['output_tokens_per_s']} at 16 ({short['batching_speedup_at_16']}x)")
    paired = report["paired_single"]
    lines.append(f"\nservice overhead, one request at a time, paired by prompt ({paired['requests']} prompts): "
                 f"p50 {paired['overhead_p50_pct']}% (mean {paired['overhead_mean_pct']}%, per output token "
                 f"{paired['overhead_per_token_p50_pct']}%, +{paired['added_ms_p50']} ms)")
    lines.append("\n| concurrent | service tok/s | engine tok/s | service latency p50 ms | engine latency p50 ms |\n|---|---|---|---|---|")
    for c in report["engine"]:
        s, e = report["service"][c], report["engine"][c]
        lines.append(f"| {c} | {s['output_tokens_per_s']} | {e['output_tokens_per_s']} | {s['latency_p50_ms']} | {e['latency_p50_ms']} |")
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
    measured = measure(rag_requests(questions, passages), args.threads)
    for side in ("service", "engine"):
        measured[side] = {str(c): run for c, run in measured[side].items()}
    report |= measured
    report["throughput_overhead_pct"] = {
        c: round(100 * (1 - report["service"][c]["output_tokens_per_s"] / run["output_tokens_per_s"]), 1)
        for c, run in report["engine"].items()}
    report["batching_speedup_at_16"] = round(report["service"]["16"]["output_tokens_per_s"]
                                             / report["service"]["1"]["output_tokens_per_s"], 1)
    short = report.pop("short_prompts")
    report["short_prompts"] = {"1": short[1], "16": short[16], "batching_speedup_at_16": round(
        short[16]["output_tokens_per_s"] / short[1]["output_tokens_per_s"], 1)}
    emit(report, table(report), args.out)


if __name__ == "__main__":
    main()
