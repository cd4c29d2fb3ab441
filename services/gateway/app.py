"""Gateway app factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def create_app(settings: GatewaySettings) -> FastAPI:
    readiness = ReadinessState("redis")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            info = await app.state.redis.info("server")
            readiness.mark_ok("redis", f"redis {info['redis_version']}")
        except redis.RedisError as exc:
            log.warning("redis unavailable at start: %s", exc)
            readiness.mark_failed("redis", f"{settings.redis_url}: {exc}")
        yield
        await app.state.redis.aclose()

    return build_service_app("gateway", readiness=readiness, lifespan=lifespan)
