"""Shadow copies: a sampled live answer is asked again of the shadow variant once the live answer is
done, in a background task nobody waits for; its outcome is recorded beside the live answer's, and
nothing of it is shown.

Where the shadow shares CPUs with live traffic (`GATEWAY_SHADOW_YIELDS_TO_LIVE`, the default), a copy
starts only after `QUIET_S` without any live answer in progress and is cancelled (its generation
aborted) when one arrives. Measured on 2 cores with back-to-back questions (bench/shadow.py): copies
run alongside live answers made the live first sentence 6.1x slower at p50; starting in any idle
moment and yielding, 1.10x (the retrieval and screening a copy had begun still ran first). Copies
then cover the idle time; `ninjarag_shadow_copies_total` counts those answered, preempted, expired
(no quiet moment within `SHADOW_WAIT_S`) and skipped."""

from __future__ import annotations

import asyncio
import logging

from services.common.admission import AdmissionLimit
from services.common.contracts.answer import AnswerRequest, DoneEvent
from services.gateway.metrics import SHADOW_COPIES
from services.gateway.variant_records import VariantRecords
from services.gateway.variants import VariantRouter

log = logging.getLogger(__name__)
SHADOW_WAIT_S = 120.0  # a copy that finds no quiet moment within this is dropped
QUIET_S = 0.5  # how long no live answer must be in progress before a copy starts
IDLE_POLL_S = 0.02


class ShadowRunner:
    def __init__(self, pipeline, router: VariantRouter, records: VariantRecords, max_pending: int,  # noqa: ANN001
                 live: AdmissionLimit, yield_to_live: bool) -> None:
        self.pipeline = pipeline  # AnswerPipeline
        self.router = router
        self.records = records
        self.max_pending = max_pending
        self.live = live  # the live answers in progress on this gateway
        self.yield_to_live = yield_to_live
        self.quiet_s = QUIET_S
        self._pending: set[asyncio.Task] = set()
        self._running: set[asyncio.Task] = set()

    def preempt(self) -> None:
        """A live answer arrives: copies running on shared CPUs stop (each is counted once)."""
        if self.yield_to_live:
            for task in list(self._running):
                task.cancel()

    def offer(self, request: AnswerRequest, live: DoneEvent) -> None:
        shadow = self.router.shadow_for(live.answer_id or "")
        if shadow is None:
            return
        if len(self._pending) >= self.max_pending:
            SHADOW_COPIES.labels("skipped").inc()
            return
        task = asyncio.create_task(self._copy(request, shadow, live.answer_id), name="shadow-copy")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _copy(self, request: AnswerRequest, shadow, live_answer_id: str | None) -> None:  # noqa: ANN001
        if self.yield_to_live and not await self._idle():
            SHADOW_COPIES.labels("expired").inc()
            return
        done = None
        task = asyncio.current_task()
        self._running.add(task)
        try:
            async for event in self.pipeline.run(request, shadow, read_cache=False):
                if isinstance(event, DoneEvent):
                    done = event
        except asyncio.CancelledError:
            SHADOW_COPIES.labels("preempted").inc()
            return
        finally:
            self._running.discard(task)
        try:
            if done is None:
                SHADOW_COPIES.labels("failed").inc()
                return
            await self.records.record(shadow.name, "shadow", done, pair=live_answer_id)
            SHADOW_COPIES.labels("answered").inc()
        except Exception:  # noqa: BLE001 - a shadow never troubles the live path; it is counted and logged
            SHADOW_COPIES.labels("failed").inc()
            log.exception("shadow copy of %s failed", live_answer_id)

    async def _idle(self) -> bool:
        """Wait for QUIET_S in a row with no live answer in progress; False if none came within SHADOW_WAIT_S."""
        clock = asyncio.get_running_loop().time
        deadline = clock() + SHADOW_WAIT_S
        quiet_since = None
        while clock() < deadline:
            if self.live.in_flight:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = clock()
            elif clock() - quiet_since >= self.quiet_s:
                return True
            await asyncio.sleep(IDLE_POLL_S)
        return False

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
