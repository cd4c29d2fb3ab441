"""Every fresh answer's outcome by variant (live, and shadow copies beside the live answer they copy),
on a Redis stream (append-only file, never evicted), and the report that compares the variants with
95% intervals: a mean's normal interval for latencies and counts, Wilson's for shares."""

from __future__ import annotations

import json
import math
import time
from typing import Literal

import redis.asyncio as redis
from pydantic import BaseModel

from services.common.contracts.answer import DoneEvent

STREAM = "ninjarag:variant-answers"
MAX_STORED = 1_000_000
Z95 = 1.96


class Interval(BaseModel):
    mean: float
    low: float
    high: float


class VariantSummary(BaseModel):
    variant: str
    role: Literal["live", "shadow"]
    answers: int
    first_sentence_ms: Interval | None
    total_ms: Interval | None
    completion_tokens: Interval | None
    dropped_sentences: Interval | None
    refused: Interval | None
    corrected_or_dropped: Interval | None


class VariantReport(BaseModel):
    answers_read: int
    variants: list[VariantSummary]
    shadow_pairs: int


def mean_interval(values: list[float]) -> Interval | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return Interval(mean=round(mean, 3), low=round(mean, 3), high=round(mean, 3))
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    half = Z95 * sd / math.sqrt(len(values))
    return Interval(mean=round(mean, 3), low=round(mean - half, 3), high=round(mean + half, 3))


def wilson_interval(successes: int, n: int) -> Interval | None:
    if not n:
        return None
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return Interval(mean=round(p, 4), low=round(max(0.0, centre - half), 4), high=round(min(1.0, centre + half), 4))


class VariantRecords:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    async def record(self, variant: str, role: str, done: DoneEvent, pair: str | None = None) -> None:
        entry = {"answer_id": done.answer_id, "variant": variant, "role": role, "pair": pair, "at": time.time(),
                 "first_sentence_ms": done.timings_ms.get("first_sentence"), "total_ms": done.timings_ms.get("total"),
                 "completion_tokens": done.tokens.completion, "prompt_tokens": done.tokens.prompt,
                 "verdict": done.verdict, "dropped": done.dropped, "corrected": done.corrected}
        await self.redis.xadd(STREAM, {"record": json.dumps(entry)}, maxlen=MAX_STORED, approximate=True)

    async def report(self, last: int) -> VariantReport:
        entries = await self.redis.xrevrange(STREAM, count=last)
        records = [json.loads(fields[b"record"]) for _id, fields in entries]
        groups: dict[tuple[str, str], list[dict]] = {}
        for record in records:
            groups.setdefault((record["variant"], record["role"]), []).append(record)
        summaries = [_summary(variant, role, group) for (variant, role), group in sorted(groups.items())]
        return VariantReport(answers_read=len(records), variants=summaries,
                             shadow_pairs=sum(1 for r in records if r["role"] == "shadow" and r["pair"]))


def _summary(variant: str, role: str, group: list[dict]) -> VariantSummary:
    def values(field: str) -> list[float]:
        return [float(r[field]) for r in group if r.get(field) is not None]

    refused = sum(r["verdict"] == "refuse" for r in group)
    imperfect = sum(r["verdict"] != "ok" for r in group)
    return VariantSummary(variant=variant, role=role, answers=len(group),
                          first_sentence_ms=mean_interval(values("first_sentence_ms")),
                          total_ms=mean_interval(values("total_ms")),
                          completion_tokens=mean_interval(values("completion_tokens")),
                          dropped_sentences=mean_interval(values("dropped")),
                          refused=wilson_interval(refused, len(group)),
                          corrected_or_dropped=wilson_interval(imperfect, len(group)))
