"""From calibrated replicas to a deployment: answers per second within a latency target, the
replicas and instances a load needs, the KEDA threshold, and the cost of a million answers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ninjarag.capacity.published import (TGI_LLAMA3_70B_INF2_48XLARGE, VLLM_LLAMA31_8B_INF2_TP2,
                                         VLLM_LLAMA31_8B_TRN2_TP4, Benchmark, calibrate)
from ninjarag.capacity.simulator import Result, Server, Workload, simulate

# On-demand Linux prices per hour, us-east-1. inf2: AWS's EC2 on-demand price list; trn2.48xlarge:
# a third-party summary of Q2 2026 prices (stackpulsar.com, "AWS Trainium and Inferentia"). Prices
# change and differ by region: override them (bench/capacity.py --price trn2.48xlarge=...).
HOURLY_USD = {"inf2.xlarge": 0.7582, "inf2.48xlarge": 12.9813, "trn2.48xlarge": 38.47}


@dataclass(frozen=True)
class Deployment:
    model: str
    instance: str
    replicas_per_instance: int
    benchmark: Benchmark | None
    why_not: str = ""


DEPLOYMENTS = (
    # Llama-3-8B at TP 2 takes one Inferentia2 device (2 NeuronCores, 32 GB): 1 on inf2.xlarge, 12 on 48xlarge.
    Deployment("Llama-3-8B", "inf2.xlarge", 1, VLLM_LLAMA31_8B_INF2_TP2),
    Deployment("Llama-3-8B", "inf2.48xlarge", 12, VLLM_LLAMA31_8B_INF2_TP2),
    # At TP 4 it takes one Trainium2 device (4 logical cores at LNC=2): 16 on trn2.48xlarge.
    Deployment("Llama-3-8B", "trn2.48xlarge", 16, VLLM_LLAMA31_8B_TRN2_TP4),
    Deployment("Llama-3-70B", "inf2.xlarge", 0, None, "does not fit: 140 GB of bf16 weights, 32 GB on the device"),
    Deployment("Llama-3-70B", "inf2.48xlarge", 1, TGI_LLAMA3_70B_INF2_48XLARGE),
    Deployment("Llama-3-70B", "trn2.48xlarge", 1, None, "no published Llama-3-70B serving figure on trn2 to calibrate on"),
)


@dataclass(frozen=True)
class Capacity:
    """One replica at the highest Poisson arrival rate that keeps the first-sentence p95 in target."""

    answers_per_s: float
    at_rate: Result
    saturated: Result  # every batch slot busy, requests back to back: the ceiling
    in_flight: float  # mean admitted requests (Little's law): the KEDA threshold's basis


def replica_capacity(server: Server, workload: Workload, first_sentence_p95_s: float, requests: int = 400) -> Capacity:
    saturated = simulate(server, workload, users=server.max_batch, requests=requests)
    low, high = 0.0, saturated.answers_per_s
    best = None
    for _ in range(14):
        rate = (low + high) / 2
        result = simulate(server, workload, rate=rate, requests=requests)
        if result.first_sentence_p95_s <= first_sentence_p95_s:
            low, best = rate, result
        else:
            high = rate
    if best is None:
        return Capacity(0.0, simulate(server, workload, rate=high / 1000, requests=requests), saturated, 0.0)
    mean_time = best.ttft_p50_s + workload.output_tokens * best.itl_mean_s
    return Capacity(low, best, saturated, low * mean_time)


def plan(capacity: Capacity, replicas_per_instance: int, hourly_usd: float, target_answers_per_s: float) -> dict:
    per_instance = capacity.answers_per_s * replicas_per_instance
    replicas = math.ceil(target_answers_per_s / capacity.answers_per_s) if capacity.answers_per_s else None
    return {
        "answers_per_s_per_replica": capacity.answers_per_s,
        "answers_per_s_per_instance": per_instance,
        "usd_per_million_answers": hourly_usd / (per_instance * 3600) * 1e6 if per_instance else None,
        "replicas_for_target": replicas,
        "instances_for_target": math.ceil(replicas / replicas_per_instance) if replicas else None,
        # The ScaledObject adds a replica each time the admitted requests exceed this per replica.
        "keda_threshold": max(1, math.floor(capacity.in_flight)) if capacity.answers_per_s else None,
    }


def calibrated(deployment: Deployment) -> Server | None:
    return calibrate(deployment.benchmark) if deployment.benchmark else None
