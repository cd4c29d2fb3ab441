"""What one key may hold and spend, so that no key starves the others: answers in progress at
once (a Redis sorted set of leases that expire at the request deadline, so a crashed gateway
cannot leak them) and prompt + completion tokens per minute (a bucket that is charged after the
answer with what it really cost and may go into debt; a key in debt waits until it refills)."""

from __future__ import annotations

import time
import uuid

import redis.asyncio as redis

from services.gateway.ratelimit import RateLimiter

# KEYS[1] leases; ARGV: limit, now, lease id, expiry. Returns {admitted, in progress}.
_LEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[1]) then return {0, held} end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(ARGV[4]) * 1000))
return {1, held + 1}
"""


class KeyQuotas:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._lease = client.register_script(_LEASE)
        self._tokens = RateLimiter(client, prefix="ninjarag:tokens:")

    async def lease_stream(self, key_id: str, limit: int, hold_s: float) -> str | None:
        """A lease id for one more answer in progress, or None when the key holds `limit` already."""
        lease = uuid.uuid4().hex
        admitted, _ = await self._lease(keys=[_streams(key_id)], args=[limit, time.time(), lease, time.time() + hold_s])
        return lease if admitted else None

    async def end_stream(self, key_id: str, lease: str) -> None:
        await self.redis.zrem(_streams(key_id), lease)

    async def token_balance(self, key_id: str, per_minute: int) -> float:
        """Tokens the key may still spend now (negative: in debt)."""
        return await self.charge_tokens(key_id, per_minute, 0)

    async def charge_tokens(self, key_id: str, per_minute: int, tokens: int) -> float:
        return await self._tokens.charge(key_id, per_minute, tokens)


def _streams(key_id: str) -> str:
    return f"ninjarag:streams:{key_id}"
