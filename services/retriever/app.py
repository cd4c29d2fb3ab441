"""Retriever app: assembly only. The behaviour is in serving.py, the HTTP surface in routes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.retriever import collection_routes
from services.retriever.routes import router
from services.retriever.serving import RetrieverService
from services.retriever.settings import RetrieverSettings


def create_app(settings: RetrieverSettings) -> FastAPI:
    readiness = ReadinessState("index")
    retriever = RetrieverService(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A missing or broken index leaves the service up: /readyz says why, searches get 503.
        loading = readiness.warm_up("index", retriever.warm_up)
        yield
        loading.cancel()
        await retriever.aclose()

    admin_token = settings.admin_token.get_secret_value() if settings.admin_token else None
    app = build_service_app("retriever", settings, readiness=readiness, lifespan=lifespan, admin_token=admin_token,
                            max_upload_bytes=settings.max_upload_bytes)
    app.state.retriever = retriever
    app.state.readiness = readiness
    app.include_router(router)
    app.include_router(collection_routes.router)
    return app
