"""Who is calling, and may they call now: API key -> per-key request rate -> request size caps ->
per-key answers in progress and token budget -> per-process concurrency."""

from __future__ import annotations

import logging
import time

import redis.asyncio as redis
from fastapi import Request

from services.common.admission import AdmissionLimit, Permit
from services.common.contracts.answer import AnswerEvent, DoneEvent
from services.common.errors import InvalidRequest, NinjaragError, Overloaded, RateLimited, Unauthorized
from services.gateway.keys import ApiKey, KeyStore
from services.gateway.metrics import REDIS_ERRORS
from services.gateway.quotas import KeyQuotas
from services.gateway.ratelimit import RateLimiter
from services.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)
# While Redis is down, keys verified this recently are still honoured.
VERIFIED_KEY_GRACE_S = 300.0


class AuthUnavailable(NinjaragError):
    type, title, status = "auth_unavailable", "API keys cannot be checked right now", 503


class Gatekeeper:
    def __init__(self, settings: GatewaySettings, client: redis.Redis) -> None:
        self.settings = settings
        self.keys = KeyStore(client, settings.api_key_pepper)
        self.limiter = RateLimiter(client)
        self.quotas = KeyQuotas(client)
        self._verified: dict[str, tuple[ApiKey, float]] = {}
        self.answers = AdmissionLimit(settings.max_concurrent, "answers in progress on this gateway")

    async def authenticate(self, request: Request) -> ApiKey:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send your API key as `Authorization: Bearer <key>` (create one with `ninjarag keys create`)")
        token = token.strip()
        try:
            key = await self.keys.lookup(token)
        except redis.RedisError as exc:
            REDIS_ERRORS.labels("auth").inc()
            remembered = self._verified.get(token)
            if remembered and time.monotonic() - remembered[1] < VERIFIED_KEY_GRACE_S:
                return remembered[0]
            raise AuthUnavailable(f"the key store is unreachable ({type(exc).__name__}); retry shortly",
                                  retry_after_s=5) from None
        if key is None or key.revoked:
            self._verified.pop(token, None)
            raise Unauthorized("this API key is " + ("revoked" if key else "not known") + "; ask for a valid key")
        self._verified[token] = (key, time.monotonic())
        return key

    async def rate_limit(self, key: ApiKey) -> None:
        try:
            allowed, retry_after = await self.limiter.take(key.key_id, key.rate_per_minute)
        except redis.RedisError as exc:
            REDIS_ERRORS.labels("rate_limit").inc()
            log.warning("rate limiting unavailable (%s): failing %s", exc, self.settings.rate_limit_when_redis_down)
            if self.settings.rate_limit_when_redis_down == "closed":
                raise AuthUnavailable("rate limits cannot be checked right now; retry shortly", retry_after_s=5) from None
            return
        if not allowed:
            raise RateLimited(f"key {key.key_id} ({key.name}) is limited to {key.rate_per_minute} requests per minute",
                              retry_after_s=max(1.0, retry_after))

    def check_request_size(self, top_k: int, max_tokens: int) -> None:
        if top_k > self.settings.max_top_k:
            raise InvalidRequest(f"top_k={top_k}: this gateway serves at most {self.settings.max_top_k} passages")
        if max_tokens > self.settings.max_answer_tokens:
            raise InvalidRequest(f"max_tokens={max_tokens}: answers are at most {self.settings.max_answer_tokens} tokens")

    async def admit(self, key: ApiKey) -> Admission:
        """A key's share (an answer in progress within its limit, tokens left this minute), then a slot among
        `max_concurrent` on this process. The caller must `finish()` the admission, however the answer ends."""
        lease = await self._lease(key)
        try:
            permit = self.answers.acquire()
        except Overloaded:
            if lease:
                await self.redis_quietly("quota", self.quotas.end_stream(key.key_id, lease))
            raise
        return Admission(self, key, lease, permit)

    async def _lease(self, key: ApiKey) -> str | None:
        """None while Redis is down (quotas then fail like the rate limit does, per the same setting)."""
        try:
            balance = await self.quotas.token_balance(key.key_id, self.settings.tokens_per_minute_per_key)
            if balance <= 0:
                rate = self.settings.tokens_per_minute_per_key / 60.0
                raise RateLimited(f"key {key.key_id} ({key.name}) spent its {self.settings.tokens_per_minute_per_key} "
                                  "tokens per minute", retry_after_s=max(1.0, (1 - balance) / rate))
            lease = await self.quotas.lease_stream(key.key_id, self.settings.streams_per_key,
                                                   self.settings.request_deadline_s + 30)
        except redis.RedisError as exc:
            REDIS_ERRORS.labels("quota").inc()
            if self.settings.rate_limit_when_redis_down == "closed":
                raise AuthUnavailable("quotas cannot be checked right now; retry shortly", retry_after_s=5) from None
            log.warning("quotas unavailable (%s): failing open", exc)
            return None
        if lease is None:
            raise RateLimited(f"key {key.key_id} ({key.name}) already has {self.settings.streams_per_key} answers in "
                              "progress; wait for one to finish", retry_after_s=1)
        return lease

    async def redis_quietly(self, use: str, call) -> None:  # noqa: ANN001 - an awaitable
        try:
            await call
        except redis.RedisError as exc:
            REDIS_ERRORS.labels(use).inc()
            log.warning("%s bookkeeping failed: %s", use, exc)


class Admission:
    """One admitted answer: counts the tokens it spends and gives everything back once, when it ends."""

    def __init__(self, gatekeeper: Gatekeeper, key: ApiKey, lease: str | None, permit: Permit) -> None:
        self.gatekeeper = gatekeeper
        self.key = key
        self.lease = lease
        self.permit = permit
        self.tokens = 0
        self._finished = False

    def observe(self, event: AnswerEvent) -> AnswerEvent:
        if isinstance(event, DoneEvent) and not event.cache_hit:
            self.tokens = event.tokens.prompt + event.tokens.completion
        return event

    async def finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        gatekeeper = self.gatekeeper
        self.permit.release()
        quotas, key_id = gatekeeper.quotas, self.key.key_id
        if self.lease:
            await gatekeeper.redis_quietly("quota", quotas.end_stream(key_id, self.lease))
        if self.tokens:
            await gatekeeper.redis_quietly(
                "quota", quotas.charge_tokens(key_id, gatekeeper.settings.tokens_per_minute_per_key, self.tokens))
