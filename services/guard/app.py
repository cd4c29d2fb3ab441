"""Guard app: assembly only. The behaviour is in serving.py, the HTTP surface in routes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.guard.routes import router
from services.guard.serving import GuardService
from services.guard.settings import GuardSettings


def create_app(settings: GuardSettings) -> FastAPI:
    readiness = ReadinessState("models")
    guard = GuardService.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up = readiness.warm_up("models", guard.warm_up)
        yield
        warm_up.cancel()
        await guard.aclose()

    app = build_service_app("guard", settings, readiness=readiness, lifespan=lifespan)
    app.state.guard = guard
    app.state.readiness = readiness
    app.include_router(router)
    return app
