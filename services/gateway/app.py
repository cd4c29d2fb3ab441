"""Gateway app: assembly only. The behaviour is in serving.py and pipeline.py, the HTTP surface in routes.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.gateway.pipeline import Upstreams
from services.gateway import collection_routes, feedback_routes
from services.gateway.page import install_page
from services.gateway.routes import router
from services.gateway.serving import GatewayService
from services.gateway.settings import GatewaySettings


def create_app(settings: GatewaySettings, upstreams: Upstreams | None = None) -> FastAPI:
    readiness = ReadinessState("redis")
    gateway = GatewayService(settings, upstreams)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        readiness.mark_ok("redis", await gateway.warm_up())
        yield
        await gateway.aclose()

    app = build_service_app("gateway", settings, readiness=readiness, lifespan=lifespan, internal=False,
                            max_upload_bytes=settings.max_upload_bytes)
    app.state.gateway = gateway
    app.state.readiness = readiness
    # What tests and operators reach for directly.
    app.state.redis, app.state.gatekeeper, app.state.versions = gateway.redis, gateway.gatekeeper, gateway.pipeline.versions
    app.include_router(router)
    app.include_router(collection_routes.router)
    app.include_router(feedback_routes.router)
    install_page(app)
    return app
