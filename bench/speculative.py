"""Speculative decoding on this machine: vLLM's n-gram (prompt lookup) proposer, which drafts the
next tokens by finding the last few generated tokens in the prompt and copying what followed them,
a fit for answers that copy from their passages. Real RAG prompts (the demo index's passages for
NQ-open dev questions, packed by the generator's own packer, `quality` policy as served), greedy,
64 output tokens as served; the engine as the generator configures it, without and with
speculation, one after the other on the same prompts: output tok/s and TTFT at 1 and 8 concurrent,
the draft acceptance rate, and whether the tokens are the same (greedy speculation must not change them).

    .ninjarag/venvs/generator/bin/python bench/speculative.py [--questions 40] [--out bench/results/speculative.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from pathlib import Path

from rag_prompts import HOME, OUTPUT_TOKENS, rag_requests, retrieve
from report import emit, percentile

LEVELS = (1, 8)


def pack(requests: list[dict]) -> list[list[int]]:
    from services.common.contracts.search import Passage
    from services.generator.model_folder import load_tokenizer
    from services.generator.packing import build_packer
    from services.generator.settings import GeneratorSettings

    settings = GeneratorSettings()
    packer = build_packer(settings, load_tokenizer(settings.model_path))
    return [packer.pack(r["question"], [Passage(**p) for p in r["passages"]], OUTPUT_TOKENS, "quality").token_ids
            for r in requests]


def spec_counters() -> tuple[int, int]:
    from vllm.v1.metrics.reader import Counter, get_metrics_snapshot

    values = {m.name: m.value for m in get_metrics_snapshot() if isinstance(m, Counter)}
    return values.get("vllm:spec_decode_num_draft_tokens", 0), values.get("vllm:spec_decode_num_accepted_tokens", 0)


async def run_engine(warm_up: list[int], prompts: dict[int, list[list[int]]], speculative: str) -> dict:
    from services.generator.engines import engine_kwargs, vllm_environment
    from services.generator.settings import GeneratorSettings

    # The service's vLLM environment (the engine in this process, its caches) before vLLM reads it.
    settings = GeneratorSettings(speculative=speculative)
    settings.apply_cpu_threads()
    for key, value in vllm_environment(settings).items():
        os.environ.setdefault(key, value)
    from vllm import SamplingParams
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.sampling_params import RequestOutputKind
    from vllm.v1.engine.async_llm import AsyncLLM

    kwargs = engine_kwargs(settings) | {"disable_log_stats": False}  # the acceptance counters
    started = time.perf_counter()
    engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**kwargs))
    ids = iter(range(10**9))

    async def send(token_ids: list[int]) -> tuple[float, float, list[int]]:
        params = SamplingParams(max_tokens=OUTPUT_TOKENS, temperature=0.0, output_kind=RequestOutputKind.DELTA)
        begun, first, tokens = time.perf_counter(), None, []
        async for output in engine.generate({"prompt_token_ids": token_ids}, params, f"spec-{next(ids)}"):
            tokens += output.outputs[0].token_ids
            if first is None and tokens:
                first = time.perf_counter()
        ended = time.perf_counter()
        return (first or ended) - begun, ended - begun, tokens

    try:
        report = {"engine_start_s": round(time.perf_counter() - started, 1)}
        await send(warm_up)
        outputs = {}
        for level in LEVELS:
            queue, measured = list(enumerate(prompts[level])), []
            drafts_before, accepted_before = spec_counters()

            async def worker() -> None:
                while queue:
                    index, token_ids = queue.pop(0)
                    measured.append((index, *await send(token_ids)))

            begun = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(level)))
            wall = time.perf_counter() - begun
            drafts, accepted = (after - before for after, before in zip(spec_counters(), (drafts_before, accepted_before), strict=True))
            ttfts = [m[1] for m in measured]
            report[str(level)] = {
                "requests": len(measured), "output_tokens": sum(len(m[3]) for m in measured),
                "output_tokens_per_s": round(sum(len(m[3]) for m in measured) / wall, 1),
                "ttft_p50_ms": round(1000 * percentile(ttfts, 50)), "ttft_p95_ms": round(1000 * percentile(ttfts, 95)),
                "draft_tokens": drafts, "accepted_tokens": accepted,
                "acceptance_rate": round(accepted / drafts, 3) if drafts else None}
            outputs[str(level)] = {m[0]: m[3] for m in measured}
        report["outputs"] = outputs
        return report
    finally:
        engine.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=40)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    records = [json.loads(line) for line in HOME.nq_dev.open()]
    random.Random(1).shuffle(records)
    questions = [r["question"] for r in records[: args.questions + 1]]
    token_ids = pack(rag_requests(questions, retrieve(questions)))
    # A third of the prompts one at a time, the rest 8 at a time; each engine gets the same ones.
    single = args.questions // 3
    prompts = {1: token_ids[1:1 + single], 8: token_ids[1 + single:]}
    runs = {mode: asyncio.run(run_engine(token_ids[0], prompts, mode)) for mode in ("off", "ngram")}
    same = {level: sum(runs["off"]["outputs"][level][i] == runs["ngram"]["outputs"][level][i]
                       for i in runs["off"]["outputs"][level]) for level in runs["off"]["outputs"]}
    for run in runs.values():
        run.pop("outputs")
    from services.generator.engines import speculative_config
    from services.generator.settings import GeneratorSettings

    report = {"ngram_config": speculative_config(GeneratorSettings(speculative="ngram")),
              "prompt_tokens_mean": round(statistics.fmean(len(t) for t in token_ids)),
              "runs": runs, "same_output_tokens": same,
              "ratio_ngram_to_off": {str(level): {
                  "output_tokens_per_s": round(runs["ngram"][str(level)]["output_tokens_per_s"]
                                               / runs["off"][str(level)]["output_tokens_per_s"], 2),
                  "ttft_p50": round(runs["ngram"][str(level)]["ttft_p50_ms"] / runs["off"][str(level)]["ttft_p50_ms"], 2)}
                  for level in LEVELS}}
    lines = ["| engine | concurrent | output tok/s | TTFT p50 / p95 ms | drafts accepted |", "|---|---|---|---|---|"]
    for name, run in runs.items():
        for level in LEVELS:
            row = run[str(level)]
            rate = "—" if row["acceptance_rate"] is None else f"{100 * row['acceptance_rate']:.0f}% of {row['draft_tokens']}"
            lines.append(f"| {name} | {level} | {row['output_tokens_per_s']} | {row['ttft_p50_ms']} / {row['ttft_p95_ms']} | {rate} |")
    lines.append(f"\nngram / off: {report['ratio_ngram_to_off']}; same greedy tokens: {same}")
    emit(report, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
