"""The index version and model id that answers depend on, asked of the retriever and the generator
and refreshed every `refresh_s` (they change on an index reload or a generator redeploy)."""

from __future__ import annotations

import time

from services.common.errors import NinjaragError
from services.common.http import ServiceClient


class Versions:
    def __init__(self, retriever: ServiceClient, generator: ServiceClient, refresh_s: float = 30.0) -> None:
        self.retriever = retriever
        self.generator = generator
        self.refresh_s = refresh_s
        self.index_version = "unknown"
        self.model = "unknown"
        self._checked = 0.0

    async def current(self) -> tuple[str, str]:
        if time.monotonic() - self._checked > self.refresh_s:
            try:
                self.index_version = (await self.retriever.get_json("/v1/index"))["index_version"]
                self.model = (await self.generator.get_json("/v1/model"))["model"]
                self._checked = time.monotonic()
            except NinjaragError:
                pass  # keep the last known values; an "unknown" version never matches a cached entry
        return self.index_version, self.model
