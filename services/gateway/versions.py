"""The index version (per collection) and model id that answers depend on, asked of the retriever and
the generator and refreshed every `refresh_s` (they change on an index reload, an ingestion job or a
generator redeploy). A refresh takes at most `timeout_s`: a hanging generator must not hold up answers
(cache hits above all)."""

from __future__ import annotations

import asyncio
import time

from services.common.contracts.generate import ModelInfo
from services.common.contracts.search import IndexInfo
from services.common.errors import NinjaragError
from services.common.http import ServiceClient
from services.gateway.variants import Variant


class Versions:
    def __init__(self, retriever: ServiceClient, refresh_s: float = 30.0, timeout_s: float = 2.0) -> None:
        self.retriever = retriever
        self.refresh_s = refresh_s
        self.timeout_s = timeout_s
        self.index_versions: dict[str, str] = {}
        self.models: dict[str, str] = {}  # by variant
        self._checked: dict[tuple[str, str], float] = {}

    async def current(self, collection: str, variant: Variant) -> tuple[str, str]:
        """(index version, model); "unknown" where it could not be learnt (never a cache hit)."""
        if time.monotonic() - self._checked.get((collection, variant.name), 0.0) > self.refresh_s:
            try:
                index, model = await asyncio.wait_for(
                    asyncio.gather(self.retriever.get_json("/v1/index", IndexInfo, params={"collection": collection}),
                                   variant.client.get_json("/v1/model", ModelInfo)),
                    self.timeout_s)
                self.index_versions[collection], self.models[variant.name] = index.index_version, model.model
                self._checked[(collection, variant.name)] = time.monotonic()
            except (NinjaragError, TimeoutError):
                pass  # keep the last known values; an "unknown" version never matches a cached entry
        return self.index_versions.get(collection, "unknown"), self.models.get(variant.name, "unknown")

    def forget(self, collection: str) -> None:
        """Ask again at the next answer (after an ingestion job this gateway saw finish)."""
        for checked in [checked for checked in self._checked if checked[0] == collection]:
            self._checked.pop(checked)
