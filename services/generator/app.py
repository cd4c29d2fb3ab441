"""Generator app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.generator.model_folder import load_tokenizer
from services.generator.settings import GeneratorSettings


def create_app(settings: GeneratorSettings) -> FastAPI:
    settings.apply_cpu_threads()
    readiness = ReadinessState("tokenizer")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        def load() -> str:
            app.state.tokenizer = load_tokenizer(settings.model_path)
            return f"{settings.model_path.name}, vocab {len(app.state.tokenizer)}"

        warm_up = readiness.warm_up("tokenizer", load)
        yield
        warm_up.cancel()

    return build_service_app("generator", readiness=readiness, lifespan=lifespan)
