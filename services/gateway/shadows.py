"""Shadow copies: a sampled live answer is asked again of the shadow variant once the live answer is
done (never while it streams: on a small machine the copy would slow it), in a background task that
nobody waits for; its outcome is recorded beside the live answer's, and nothing of it is shown."""

from __future__ import annotations

import asyncio
import logging

from services.common.contracts.answer import AnswerRequest, DoneEvent
from services.gateway.metrics import SHADOW_COPIES
from services.gateway.variant_records import VariantRecords
from services.gateway.variants import VariantRouter

log = logging.getLogger(__name__)


class ShadowRunner:
    def __init__(self, pipeline, router: VariantRouter, records: VariantRecords, max_pending: int) -> None:  # noqa: ANN001
        self.pipeline = pipeline  # AnswerPipeline
        self.router = router
        self.records = records
        self.max_pending = max_pending
        self._pending: set[asyncio.Task] = set()

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
        done = None
        try:
            async for event in self.pipeline.run(request, shadow, read_cache=False):
                if isinstance(event, DoneEvent):
                    done = event
            if done is None:
                SHADOW_COPIES.labels("failed").inc()
                return
            await self.records.record(shadow.name, "shadow", done, pair=live_answer_id)
            SHADOW_COPIES.labels("answered").inc()
        except Exception:  # noqa: BLE001 - a shadow never troubles the live path; it is counted and logged
            SHADOW_COPIES.labels("failed").inc()
            log.exception("shadow copy of %s failed", live_answer_id)

    async def aclose(self) -> None:
        for task in list(self._pending):
            task.cancel()
