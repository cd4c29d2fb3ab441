"""Per-key token buckets in Redis, atomic (one Lua script): capacity = the per-minute rate, refilled
continuously. `take` admits a request when the bucket holds its cost; `charge` always takes the
cost, into debt if need be (a cost known only afterwards, like an answer's tokens), and returns
the balance."""

from __future__ import annotations

import time

import redis.asyncio as redis

# KEYS[1] bucket; ARGV: capacity, refill per second, now (s), cost, mode ('take' or 'charge').
# take: {allowed, retry_after_ms}; charge: {1, balance as a string (Lua numbers go out as integers)}.
_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cost = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local allowed = 0
local retry_ms = 0
if ARGV[5] == 'charge' or tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_ms = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - math.min(tokens, 0)) / rate * 1000) + 1000)
if ARGV[5] == 'charge' then return {1, tostring(tokens)} end
return {allowed, retry_ms}
"""


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str = "ninjarag:ratelimit:") -> None:
        self._script = client.register_script(_TOKEN_BUCKET)
        self.prefix = prefix

    async def take(self, key_id: str, rate_per_minute: int) -> tuple[bool, float]:
        """One request: (allowed, seconds until a request would be allowed)."""
        allowed, retry_ms = await self._call(key_id, rate_per_minute, 1, "take")
        return bool(allowed), int(retry_ms) / 1000.0

    async def charge(self, key_id: str, per_minute: int, cost: int) -> float:
        """Takes `cost` whatever the balance; returns the balance after it (negative: in debt)."""
        _, balance = await self._call(key_id, per_minute, cost, "charge")
        return float(balance)

    async def _call(self, key_id: str, per_minute: int, cost: int, mode: str) -> list:
        return await self._script(keys=[self.prefix + key_id], args=[per_minute, per_minute / 60.0, time.time(), cost, mode])
