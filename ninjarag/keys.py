"""`ninjarag keys`: API keys in the stack's Redis, through the gateway's own key store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import redis.asyncio as redis

from ninjarag.errors import UserError
from ninjarag.settings import StackSettings
from services.gateway.keys import ApiKey, KeyStore


def _run(settings: StackSettings, action):  # noqa: ANN001, ANN202 - async (KeyStore) -> result
    async def main():  # noqa: ANN202
        client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
        try:
            return await action(KeyStore(client, settings.secrets.api_key_pepper))
        except redis.RedisError as exc:
            where = f"{settings.host}:{settings.redis_port}"
            raise UserError(f"cannot reach Redis at {where} ({exc}); start the stack with `ninjarag up`") from None
        finally:
            await client.aclose()

    return asyncio.run(main())


def create(settings: StackSettings, name: str, rate_per_minute: int, read: tuple[str, ...] = ("demo",),
           write: tuple[str, ...] = (), admin: bool = False) -> tuple[str, ApiKey]:
    return _run(settings, lambda store: store.create(name, rate_per_minute, read, write, admin))


def list_keys(settings: StackSettings) -> list[ApiKey]:
    return _run(settings, lambda store: store.list())


def revoke(settings: StackSettings, key_id: str) -> ApiKey:
    revoked = _run(settings, lambda store: store.revoke(key_id))
    if revoked is None:
        raise UserError(f"no key with id {key_id!r}; `ninjarag keys list` shows the ids")
    return revoked


def demo_key(settings: StackSettings) -> str:
    """The key `ask`, `ingest` and the other client commands use when NINJARAG_API_KEY is unset: the local
    operator's own, with the admin scope; created once for the local stack, kept in its run dir."""
    if settings.api_key:
        return settings.api_key
    path: Path = settings.run_path / "demo-api-key"
    if path.is_file():
        key = path.read_text().strip()
        found = _run(settings, lambda store: store.lookup(key))
        if found and found.admin and not found.revoked:
            return key
    key, _ = create(settings, "demo", 600, admin=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key
