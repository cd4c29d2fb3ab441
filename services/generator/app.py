"""Generator app: assembly only. The behaviour is in serving.py, the HTTP surface in routes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.generator.engine import Engine
from services.generator.engines import build_engine
from services.generator.routes import router
from services.generator.serving import GenerationService
from services.generator.settings import GeneratorSettings


def create_app(settings: GeneratorSettings, engine: Engine | None = None) -> FastAPI:
    readiness = ReadinessState("engine")
    generator = GenerationService(settings, engine or build_engine(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up = readiness.warm_up("engine", generator.warm_up)
        yield
        warm_up.cancel()
        await generator.aclose()

    app = build_service_app("generator", settings, readiness=readiness, lifespan=lifespan)
    app.state.generator = generator
    app.state.readiness = readiness
    app.include_router(router)
    return app
