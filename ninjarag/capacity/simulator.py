"""A continuous-batching LLM server, simulated request by request: how time to first token,
inter-token latency and output throughput follow from a few per-hardware constants and a workload.

The server (one model replica) alternates between prefill and decode steps, as vLLM on Neuron
(NxD Inference, `ctx_batch_size` 1, no chunked prefill) does:
- a waiting request is admitted, one per prefill, as soon as fewer than `max_batch` are running;
  its prefill costs `prefill_s_per_token` per prompt token and produces the first token; decoding
  waits meanwhile;
- otherwise each decode step emits one token for every running request and takes
  `step_s + step_s_per_extra_seq * (running - 1)` (memory-bound: nearly flat in the batch).
Clients are either `users` in a closed loop (the benchmarks the constants are calibrated on: each
sends its next request when the last one finished, all starting together) or Poisson arrivals at
`rate` per second (planning). Prompt and output lengths vary as in those benchmarks (normal, clipped).
"""

from __future__ import annotations

import heapq
import random
import statistics
from collections import deque
from dataclasses import dataclass

from ninjarag.eval.metrics import percentile


@dataclass(frozen=True)
class Server:
    prefill_s_per_token: float
    step_s: float
    step_s_per_extra_seq: float
    max_batch: int

    def step(self, running: int) -> float:
        return self.step_s + self.step_s_per_extra_seq * (running - 1)


@dataclass(frozen=True)
class Workload:
    prompt_tokens: float
    output_tokens: float
    prompt_sd: float = 0.0
    output_sd: float = 0.0
    # Tokens until the first sentence is complete: the gateway releases whole sentences.
    first_sentence_tokens: float = 1.0


@dataclass(frozen=True)
class Result:
    ttft_p50_s: float
    ttft_p95_s: float
    first_sentence_p50_s: float
    first_sentence_p95_s: float
    itl_mean_s: float
    output_tokens_per_s: float
    answers_per_s: float


@dataclass
class _Request:
    arrival: float
    prompt: int
    output: int
    user: int | None
    generated: int = 0
    first_token: float = 0.0
    first_sentence: float | None = None
    finish: float = 0.0


def _lengths(workload: Workload, rng: random.Random) -> tuple[int, int]:
    prompt = max(1, round(rng.gauss(workload.prompt_tokens, workload.prompt_sd)))
    output = max(1, round(rng.gauss(workload.output_tokens, workload.output_sd)))
    return prompt, output


def simulate(server: Server, workload: Workload, *, users: int | None = None, rate: float | None = None,
             requests: int = 400, seed: int = 0) -> Result:
    if (users is None) == (rate is None):
        raise ValueError("give either users (closed loop) or rate (Poisson arrivals)")
    rng = random.Random(seed)
    arrivals: list[tuple[float, int, _Request]] = []  # a heap by time; the counter keeps ties ordered
    counter = 0

    def arrive(at: float, user: int | None) -> None:
        nonlocal counter
        heapq.heappush(arrivals, (at, counter, _Request(at, *_lengths(workload, rng), user)))
        counter += 1

    if users is not None:
        for user in range(users):
            arrive(0.0, user)
    else:
        at = 0.0
        for _ in range(requests):
            at += rng.expovariate(rate)
            arrive(at, None)

    now, waiting, running, finished = 0.0, deque(), [], []
    sent = len(arrivals)
    while len(finished) < requests:
        while arrivals and arrivals[0][0] <= now:
            waiting.append(heapq.heappop(arrivals)[2])
        if waiting and len(running) < server.max_batch:
            joining = waiting.popleft()
            now += joining.prompt * server.prefill_s_per_token
            joining.generated, joining.first_token = 1, now
            running.append(joining)
        elif running:
            now += server.step(len(running))
            for request in running:
                request.generated += 1
        elif arrivals:
            now = arrivals[0][0]
            continue
        else:
            break
        for request in running:
            if request.first_sentence is None and request.generated >= workload.first_sentence_tokens:
                request.first_sentence = now
        done = [r for r in running if r.generated >= r.output]
        running = [r for r in running if r.generated < r.output]
        for request in done:
            request.finish = now
            finished.append(request)
            if request.user is not None and sent < requests:
                arrive(now, request.user)
                sent += 1
    return _measure(finished)


def _measure(finished: list[_Request]) -> Result:
    ttft = sorted(r.first_token - r.arrival for r in finished)
    first_sentence = sorted((r.first_sentence or r.finish) - r.arrival for r in finished)
    gaps = [(r.finish - r.first_token) / (r.output - 1) for r in finished if r.output > 1]
    start = min(r.arrival for r in finished)
    span = max(r.finish for r in finished) - start
    return Result(
        ttft_p50_s=statistics.median(ttft), ttft_p95_s=percentile(ttft, 95),
        first_sentence_p50_s=statistics.median(first_sentence), first_sentence_p95_s=percentile(first_sentence, 95),
        itl_mean_s=statistics.fmean(gaps) if gaps else 0.0,
        output_tokens_per_s=sum(r.output for r in finished) / span, answers_per_s=len(finished) / span)

