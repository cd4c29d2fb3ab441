"""The answer cache: a finished answer's events in Redis, keyed by the question (case-folded, spaces
collapsed, nothing else: "What is C++?" and "What is C#?" are different questions) and all that
changes the answer (top_k, the index version, the model, the answer policy...); a hit replays them. Redis down: no cache, logged and counted."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict

import redis.asyncio as redis

from services.common.contracts.guard import InputVerdict
from services.gateway.metrics import CACHE, REDIS_ERRORS

log = logging.getLogger(__name__)


def question_key(question: str) -> str:
    return " ".join(question.casefold().split())


def cache_key(question: str, settings: dict[str, str | int | bool]) -> str:
    """`settings`: everything else that changes the answer (top_k, index version, model, policy...)."""
    identity = json.dumps([question_key(question), sorted(settings.items())])
    return "ninjarag:answer:" + hashlib.sha256(identity.encode()).hexdigest()


class AnswerCache:
    def __init__(self, client: redis.Redis, ttl_s: int) -> None:
        self.redis = client
        self.ttl_s = ttl_s

    async def get(self, key: str) -> list[dict] | None:
        if not self.ttl_s:
            return None
        try:
            value = await self.redis.get(key)
        except redis.RedisError as exc:
            log.warning("answer cache unavailable: %s", exc)
            REDIS_ERRORS.labels("cache").inc()
            CACHE.labels("error").inc()
            return None
        CACHE.labels("hit" if value else "miss").inc()
        return json.loads(value) if value else None

    async def put(self, key: str, events: list[dict]) -> None:
        if not self.ttl_s:
            return
        try:
            await self.redis.set(key, json.dumps(events), ex=self.ttl_s)
        except redis.RedisError as exc:
            log.warning("answer not cached: %s", exc)
            REDIS_ERRORS.labels("cache").inc()


class VerdictCache:
    """Input-guard verdicts of exact questions seen in the last few minutes: the guard is
    deterministic, so a repeated question (a cache hit above all) skips the call."""

    def __init__(self, ttl_s: float = 600.0, size: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: OrderedDict[str, tuple[InputVerdict, float]] = OrderedDict()

    def get(self, question: str) -> InputVerdict | None:
        entry = self._entries.get(question)
        if entry is None or entry[1] < time.monotonic():
            return None
        self._entries.move_to_end(question)
        return entry[0]

    def put(self, question: str, verdict: InputVerdict) -> None:
        self._entries[question] = (verdict, time.monotonic() + self.ttl_s)
        self._entries.move_to_end(question)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
