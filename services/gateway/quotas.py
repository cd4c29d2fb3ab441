"""What one key may hold and spend, so that no key starves the others: answers in progress at
once (a Redis sorted set of leases that expire at the request deadline, so a crashed gateway
cannot leak them) and prompt + completion tokens per minute (a bucket that is charged after the
answer with what it really cost and may go into debt; a key in debt waits until it refills)."""

from __future__ import annotations

import time
import uuid

import redis.asyncio as redis

# KEYS[1] leases; ARGV: limit, now, lease id, expiry. Returns {admitted, in progress}.
_LEASE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local held = redis.call('ZCARD', KEYS[1])
if held >= tonumber(ARGV[1]) then return {0, held} end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(ARGV[4]) * 1000))
return {1, held + 1}
"""
# KEYS[1] bucket; ARGV: capacity, refill per second, now, cost. Returns the balance after the charge,
# as a string (Lua numbers become integers on the way out).
_CHARGE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate) - tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - math.min(tokens, 0)) / rate * 1000) + 1000)
return tostring(tokens)
"""


class KeyQuotas:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._lease = client.register_script(_LEASE)
        self._charge = client.register_script(_CHARGE)

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
        balance = await self._charge(keys=[_tokens(key_id)], args=[per_minute, per_minute / 60.0, time.time(), tokens])
        return float(balance)


def _streams(key_id: str) -> str:
    return f"ninjarag:streams:{key_id}"


def _tokens(key_id: str) -> str:
    return f"ninjarag:tokens:{key_id}"
