"""API keys in Redis: stored as HMAC-SHA256(pepper, key), never in clear, with a name, a rate limit and
what the key may touch: the collections it may read, those it may write (ingest into, create, delete),
and the admin scope (every collection, and reading the feedback)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import redis.asyncio as redis

KEY_PREFIX = "nr_"
_RECORD = "ninjarag:apikey:{digest}"
_INDEX = "ninjarag:apikeys"  # set of digests, for listing
ALL_COLLECTIONS = "*"
# Keys created before collections existed read the demo collection, as they always did.
LEGACY_READ = "demo"


@dataclass(frozen=True)
class ApiKey:
    key_id: str  # the first 12 hex digits of the digest: safe to show and log
    name: str
    rate_per_minute: int
    created_at: float
    revoked: bool
    read: frozenset[str] = frozenset()
    write: frozenset[str] = frozenset()
    admin: bool = False

    def can_write(self, collection: str) -> bool:
        return self.admin or ALL_COLLECTIONS in self.write or collection in self.write

    def can_read(self, collection: str) -> bool:
        return self.can_write(collection) or ALL_COLLECTIONS in self.read or collection in self.read


def digest_of(key: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


class KeyStore:
    def __init__(self, client: redis.Redis, pepper: str) -> None:
        self.redis = client
        self.pepper = pepper

    async def create(self, name: str, rate_per_minute: int, read: tuple[str, ...] = (LEGACY_READ,),
                     write: tuple[str, ...] = (), admin: bool = False) -> tuple[str, ApiKey]:
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = digest_of(key, self.pepper)
        record = {"name": name, "rate_per_minute": rate_per_minute, "created_at": time.time(), "revoked": 0,
                  "read": ",".join(read), "write": ",".join(write), "admin": int(admin)}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(_RECORD.format(digest=digest), mapping=record)
            pipe.sadd(_INDEX, digest)
            await pipe.execute()
        return key, self._from_record(digest, record)

    async def lookup(self, key: str) -> ApiKey | None:
        digest = digest_of(key, self.pepper)
        record = await self.redis.hgetall(_RECORD.format(digest=digest))
        return self._from_record(digest, record) if record else None

    async def _digests(self) -> list[str]:
        return sorted(d.decode() if isinstance(d, bytes) else d for d in await self.redis.smembers(_INDEX))

    async def list(self) -> list[ApiKey]:
        keys = []
        for digest in await self._digests():
            record = await self.redis.hgetall(_RECORD.format(digest=digest))
            if record:
                keys.append(self._from_record(digest, record))
        return sorted(keys, key=lambda k: k.created_at)

    async def revoke(self, key_id: str) -> ApiKey | None:
        for digest in await self._digests():
            if digest[:12] == key_id:
                await self.redis.hset(_RECORD.format(digest=digest), "revoked", 1)
                return self._from_record(digest, await self.redis.hgetall(_RECORD.format(digest=digest)))
        return None

    @staticmethod
    def _from_record(digest: str, record: dict) -> ApiKey:
        def field(name: str) -> str:
            value = record.get(name, record.get(name.encode(), b""))
            return value.decode() if isinstance(value, bytes) else str(value)

        def names(name: str, legacy: str) -> frozenset[str]:
            has_field = name in record or name.encode() in record
            return frozenset(filter(None, (field(name) if has_field else legacy).split(",")))

        return ApiKey(digest[:12], field("name"), int(field("rate_per_minute")), float(field("created_at")),
                      field("revoked") == "1", names("read", LEGACY_READ), names("write", ""), field("admin") == "1")
