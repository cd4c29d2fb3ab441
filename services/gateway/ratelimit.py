"""Per-key token bucket in Redis, atomic (one Lua script): capacity = the key's per-minute rate,
refilled continuously."""

from __future__ import annotations

import time

import redis.asyncio as redis

# KEYS[1] bucket; ARGV: capacity, refill per second, now (s), cost. Returns {allowed, retry_after_ms}.
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
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
else
  retry_ms = math.ceil((cost - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, retry_ms}
"""


class RateLimiter:
    def __init__(self, client: redis.Redis) -> None:
        self._script = client.register_script(_TOKEN_BUCKET)

    async def take(self, key_id: str, rate_per_minute: int) -> tuple[bool, float]:
        """(allowed, seconds until a request would be allowed)."""
        allowed, retry_ms = await self._script(
            keys=[f"ninjarag:ratelimit:{key_id}"], args=[rate_per_minute, rate_per_minute / 60.0, time.time(), 1])
        return bool(allowed), retry_ms / 1000.0
