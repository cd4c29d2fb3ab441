"""Retriever app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.retriever.passages import PassageStore
from services.retriever.settings import RetrieverSettings


def create_app(settings: RetrieverSettings) -> FastAPI:
    settings.apply_cpu_threads()
    readiness = ReadinessState("corpus")
    passages = PassageStore(settings.corpus_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up = readiness.warm_up("corpus", passages.load)
        yield
        warm_up.cancel()

    app = build_service_app("retriever", readiness=readiness, lifespan=lifespan)
    app.state.passages = passages
    return app
