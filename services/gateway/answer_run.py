"""What one answer accumulates on its way through the pipeline (released sentences, counts, token
use, stage timings), and the deadline every await of it is bounded by."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from services.common.contracts.answer import SentenceEvent, TokenCounts
from services.common.errors import DeadlineExceeded, UpstreamTimeout
from services.gateway.metrics import STAGE_LATENCY
from services.gateway.variants import Variant


@dataclass
class AnswerRun:
    """What one answer accumulates on its way, and its deadline."""

    deadline_s: float
    variant: Variant
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    released: list[SentenceEvent] = field(default_factory=list)
    dropped: int = 0
    corrected: int = 0
    tokens: TokenCounts = field(default_factory=lambda: TokenCounts(prompt=0, completion=0))
    # The guard's id for the screened passages: per-sentence checks name it instead of resending them.
    passage_set: str | None = None

    async def bounded(self, call, limit_s: float | None, what: str):  # noqa: ANN001, ANN201 - awaitable in, result out
        """Awaits within the request's deadline and the stage's own limit. Each await is bounded on
        its own, never a span that yields to the client: a timeout there would cancel the response."""
        remaining = self.deadline_s - (time.perf_counter() - self.started)
        try:
            budget = remaining if limit_s is None else min(limit_s, remaining)
            return await asyncio.wait_for(call, max(0.0, budget))
        except TimeoutError:
            if limit_s is not None and limit_s < remaining:
                raise UpstreamTimeout(f"{what} took longer than {limit_s:g} s") from None
            raise DeadlineExceeded(f"no answer within {self.deadline_s:g} s; try again") from None

    async def stage(self, name: str, call, limit_s: float | None = None):  # noqa: ANN001, ANN201
        started = time.perf_counter()
        try:
            return await self.bounded(call, limit_s, name)
        finally:
            elapsed = time.perf_counter() - started
            self.timings[name] = round(self.timings.get(name, 0.0) + elapsed * 1000, 2)
            STAGE_LATENCY.labels(name).observe(elapsed)
