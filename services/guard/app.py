"""Guard app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.guard.settings import GuardSettings
from services.guard.toxicity import ToxicityScorer


def create_app(settings: GuardSettings) -> FastAPI:
    settings.apply_cpu_threads()
    readiness = ReadinessState("toxicity")
    toxicity = ToxicityScorer()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up = readiness.warm_up("toxicity", toxicity.warm_up)
        yield
        warm_up.cancel()

    app = build_service_app("guard", readiness=readiness, lifespan=lifespan)
    app.state.toxicity = toxicity
    return app
