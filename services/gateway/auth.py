"""Who is calling, and may they call now: API key -> per-key rate limit -> per-process concurrency."""

from __future__ import annotations

import logging
import time

import redis.asyncio as redis
from fastapi import Request

from services.common.errors import NinjaragError, Overloaded, RateLimited, Unauthorized
from services.gateway.keys import ApiKey, KeyStore
from services.gateway.metrics import REDIS_ERRORS
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
        self._verified: dict[str, tuple[ApiKey, float]] = {}
        self.in_flight = 0

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

    def acquire(self) -> None:
        """A slot among `max_concurrent`; the caller must call `release`."""
        if self.in_flight >= self.settings.max_concurrent:
            raise Overloaded(f"{self.in_flight} answers in progress on this gateway; retry shortly", retry_after_s=1)
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
