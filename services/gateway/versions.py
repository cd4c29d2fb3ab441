"""The index version and model id that answers depend on, asked of the retriever and the generator
and refreshed every `refresh_s` (they change on an index reload or a generator redeploy). A refresh
takes at most `timeout_s`: a hanging generator must not hold up answers (cache hits above all)."""

from __future__ import annotations

import asyncio
import time

from services.common.contracts.generate import ModelInfo
from services.common.contracts.search import IndexInfo
from services.common.errors import NinjaragError
from services.common.http import ServiceClient


class Versions:
    def __init__(self, retriever: ServiceClient, generator: ServiceClient, refresh_s: float = 30.0,
                 timeout_s: float = 2.0) -> None:
        self.retriever = retriever
        self.generator = generator
        self.refresh_s = refresh_s
        self.timeout_s = timeout_s
        self.index_version = "unknown"
        self.model = "unknown"
        self._checked = 0.0

    async def current(self) -> tuple[str, str]:
        if time.monotonic() - self._checked > self.refresh_s:
            try:
                index, model = await asyncio.wait_for(
                    asyncio.gather(self.retriever.get_json("/v1/index", IndexInfo),
                                   self.generator.get_json("/v1/model", ModelInfo)),
                    self.timeout_s)
                self.index_version, self.model = index.index_version, model.model
                self._checked = time.monotonic()
            except (NinjaragError, TimeoutError):
                pass  # keep the last known values; an "unknown" version never matches a cached entry
        return self.index_version, self.model
