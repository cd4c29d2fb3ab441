"""Published Neuron serving benchmarks, and the per-replica server constants calibrated on them.

Calibration uses three figures of each benchmark: time to first token at one user gives the prefill
cost per prompt token; output throughput at one user then gives the decode step; output throughput
at the highest concurrency gives how the step grows with the batch. Every other published figure is
a check of the model, reported beside it (bench/capacity.py, docs/capacity.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ninjarag.capacity.simulator import Server, Workload, simulate


@dataclass(frozen=True)
class Point:
    users: int
    ttft_p50_s: float
    itl_s: float
    output_tokens_per_s: float


@dataclass(frozen=True)
class Benchmark:
    name: str
    model: str
    hardware: str  # what one model replica ran on
    max_batch: int
    workload: Workload
    points: tuple[Point, ...]
    source: str

    def point(self, users: int) -> Point:
        return next(p for p in self.points if p.users == users)


# llmperf / guidellm prompts of 1,500 ± 150 tokens and about 245-250 output tokens in all three.
TGI_LLAMA3_70B_INF2_48XLARGE = Benchmark(
    "tgi-llama3-70b-inf2.48xlarge", "Llama-3-70B-Instruct", "inf2.48xlarge, TP 24 (all 12 devices), TGI-neuron",
    max_batch=4, workload=Workload(1500, 245, prompt_sd=150, output_sd=20),
    points=(Point(1, 1.33, 0.0458, 21.2), Point(4, 5.00, 0.0618, 54.5), Point(8, 9.14, 0.0898, 59.5)),
    source="huggingface/optimum-neuron benchmark/text-generation-inference/llama3-70b-inf2.48xlarge "
           "(tgi-results.csv; .env MAX_BATCH_SIZE=4, llmperf 1500±150 in / 245±20 out)")
VLLM_LLAMA31_8B_INF2_TP2 = Benchmark(
    "vllm-llama3.1-8b-inf2-tp2", "Llama-3.1-8B-Instruct", "one inf2 device (TP 2), vLLM 0.16 + optimum-neuron",
    max_batch=4, workload=Workload(1500, 250, prompt_sd=150, output_sd=20),
    points=(Point(1, 1.058, 0.0507, 18.2), Point(4, 1.315, 0.0595, 44.2)),
    source="huggingface/optimum-neuron benchmark/vllm/llama-3.1-8b-inf2-report.md (2026-08-24; TP 2, batch 4, "
           "on inf2.24xlarge)")
VLLM_LLAMA31_8B_TRN2_TP4 = Benchmark(
    "vllm-llama3.1-8b-trn2-tp4", "Llama-3.1-8B-Instruct", "one trn2 device (TP 4), vLLM + optimum-neuron",
    max_batch=32, workload=Workload(1500, 250, prompt_sd=150, output_sd=20),
    points=(Point(1, 0.197, 0.0221, 43.5), Point(32, 1.254, 0.0445, 578.8)),
    source="huggingface/optimum-neuron benchmark/vllm/single-instance/llama-3.1-8b-trn2/vllm-results.csv "
           "(2025-10-16; batch 32; guidellm synchronous and throughput modes)")
BENCHMARKS = (TGI_LLAMA3_70B_INF2_48XLARGE, VLLM_LLAMA31_8B_INF2_TP2, VLLM_LLAMA31_8B_TRN2_TP4)

# The same TGI 70B benchmark, run again on other days with other results (optimum-neuron history):
# how far the published figures themselves move, next to the model's error.
TGI_70B_OTHER_RUNS = {
    "2024-06-05 (af0506f2)": (Point(1, 1.388, 0.0515, 18.8), Point(2, 2.012, 0.0567, 32.2),
                              Point(4, 5.206, 0.0660, 50.2), Point(8, 9.568, 0.0973, 52.1)),
    "2024-06-21 (c2ebb6a5)": (Point(1, 1.201, 0.0437, 22.5), Point(8, 4.925, 0.0854, 64.1),
                              Point(16, 22.87, 0.1354, 66.6)),
}

CALIBRATION_REQUESTS = 240


def calibrate(benchmark: Benchmark) -> Server:
    """Server constants that reproduce the benchmark's TTFT at 1 user and its throughput at 1 user and
    at its highest concurrency (the step's growth with the batch found by bisection)."""
    workload, single = benchmark.workload, benchmark.point(1)
    loaded = max(benchmark.points, key=lambda p: p.users)
    prefill = single.ttft_p50_s / workload.prompt_tokens
    step = (workload.output_tokens / single.output_tokens_per_s - single.ttft_p50_s) / (workload.output_tokens - 1)
    low, high = 0.0, step
    for _ in range(40):
        growth = (low + high) / 2
        server = Server(prefill, step, growth, benchmark.max_batch)
        measured = simulate(server, workload, users=loaded.users, requests=CALIBRATION_REQUESTS).output_tokens_per_s
        low, high = (growth, high) if measured > loaded.output_tokens_per_s else (low, growth)
    return Server(prefill, step, (low + high) / 2, benchmark.max_batch)


def reproduce(server: Server, workload: Workload, points: tuple[Point, ...]) -> list[dict]:
    """The model's figures beside the published ones, with the relative error of each."""
    rows = []
    for point in points:
        result = simulate(server, workload, users=point.users, requests=CALIBRATION_REQUESTS)
        modelled = {"ttft_p50_s": result.ttft_p50_s, "itl_s": result.itl_mean_s,
                    "output_tokens_per_s": result.output_tokens_per_s}
        published = {"ttft_p50_s": point.ttft_p50_s, "itl_s": point.itl_s, "output_tokens_per_s": point.output_tokens_per_s}
        rows.append({"users": point.users, "published": published, "model": modelled,
                     "error": {k: modelled[k] / published[k] - 1 for k in published}})
    return rows
