"""The skeleton every service app is built on: health, readiness, metrics, request ids, errors."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.contracts.health import Health, Readiness
from services.common.errors import PROBLEM_RESPONSES, LoadFailed, NotReady, install_error_handlers, problem_schemas
from services.common.limits import RequestLimitsMiddleware
from services.common.metrics import HTTP_IN_FLIGHT, HTTP_LATENCY, HTTP_REQUESTS, metrics_response
from services.common.request_context import (
    REQUEST_ID_HEADER,
    new_request_id,
    reset_request_id,
    set_request_id,
)
from services.common.service_auth import ServiceAuthMiddleware
from services.common.settings import ServiceSettings

log = logging.getLogger(__name__)

_UNLOGGED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class ReadinessState:
    """Named checks a service fills in while it warms up; ready when all pass."""

    PENDING = "pending"
    OK = "ok"

    def __init__(self, *names: str) -> None:
        self._checks = {name: self.PENDING for name in names}

    def mark_ok(self, name: str, detail: str = OK) -> None:
        self._checks[name] = self.OK if detail == self.OK else f"{self.OK}: {detail}"

    def mark_failed(self, name: str, reason: str) -> None:
        self._checks[name] = f"failed: {reason}"

    @property
    def ready(self) -> bool:
        return all(value.startswith(self.OK) for value in self._checks.values())

    def report(self, service: str) -> Readiness:
        return Readiness(service=service, ready=self.ready, checks=dict(self._checks))

    def require(self, service: str) -> None:
        """For request handlers: 503 not_ready, naming what is still loading, until every check passed."""
        if not self.ready:
            waiting = "; ".join(f"{name}: {value}" for name, value in self._checks.items() if not value.startswith(self.OK))
            raise NotReady(f"{service} is not ready ({waiting})", retry_after_s=5)

    def warm_up(self, name: str, load: Callable[[], str] | Callable[[], Awaitable[str]]) -> asyncio.Task[None]:
        """Run a load (blocking ones in a thread) so /healthz answers meanwhile; `load` returns a detail."""

        async def run() -> None:
            try:
                detail = await load() if inspect.iscoroutinefunction(load) else await asyncio.to_thread(load)
                self.mark_ok(name, detail)
            except LoadFailed as exc:
                log.error("warm-up step %s failed: %s", name, exc)
                self.mark_failed(name, str(exc))
            except Exception as exc:  # noqa: BLE001 - any load failure makes the service not ready
                log.exception("warm-up step %s failed", name)
                self.mark_failed(name, f"{type(exc).__name__}: {exc}")

        return asyncio.create_task(run(), name=f"warm-up:{name}")


class RequestContextMiddleware:
    """Issues or propagates X-Request-ID, and records request metrics and an access log line."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = incoming[:128] if incoming else new_request_id()
        token = set_request_id(request_id)
        started = time.perf_counter()
        status_holder: dict[str, int] = {"status": 500}

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode("latin-1"))]
                route = scope.get("route")
                route_label = getattr(route, "path", "unmatched")
                HTTP_LATENCY.labels(self.service, scope["method"], route_label).observe(time.perf_counter() - started)
            await send(message)

        HTTP_IN_FLIGHT.labels(self.service).inc()
        try:
            await self.app(scope, receive, send_with_request_id)
        finally:
            HTTP_IN_FLIGHT.labels(self.service).dec()
            route_label = getattr(scope.get("route"), "path", "unmatched")
            status = status_holder["status"]
            HTTP_REQUESTS.labels(self.service, scope["method"], route_label, str(status)).inc()
            if scope["path"] not in _UNLOGGED_PATHS:
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            reset_request_id(token)


def _document_problems(app: FastAPI) -> None:
    """Adds the problem+json schemas that PROBLEM_RESPONSES refer to, and drops FastAPI's own 422 body
    (HTTPValidationError), which this service never sends."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()  # FastAPI keeps it as app.openapi_schema
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            schemas.update(problem_schemas())
            for operation in (op for path in schema.get("paths", {}).values() for op in path.values()):
                problem = operation.get("responses", {}).get("422", {})
                problem.get("content", {}).pop("application/json", None)
        return app.openapi_schema

    app.openapi = openapi


def build_service_app(
    service: str,
    settings: ServiceSettings,
    *,
    readiness: ReadinessState,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
    internal: bool = True,
    admin_token: str | None = None,
    version: str = "0.1.0",
    max_upload_bytes: int | None = None,
) -> FastAPI:
    """A FastAPI app with the routes and middleware every service has; the caller adds its own.
    `internal` services require the service token (when one is set) on every route but health."""
    docs = settings.public_docs
    app = FastAPI(title=f"ninjarag {service}", version=version, lifespan=lifespan, responses=PROBLEM_RESPONSES,
                  openapi_url="/openapi.json" if docs else None, docs_url="/docs" if docs else None, redoc_url=None)
    app.state.service = service
    app.state.readiness = readiness
    _document_problems(app)
    install_error_handlers(app)
    # Added innermost first: request id and metrics, then authentication, then body limits.
    app.add_middleware(RequestLimitsMiddleware, max_body_bytes=settings.max_body_bytes,
                       max_json_depth=settings.max_json_depth, body_timeout_s=settings.body_timeout_s,
                       max_upload_bytes=max_upload_bytes)
    if internal and settings.service_token is not None:
        app.add_middleware(ServiceAuthMiddleware, service_token=settings.service_token.get_secret_value(),
                           admin_token=admin_token)
    app.add_middleware(RequestContextMiddleware, service=service)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Health:
        return Health(service=service)

    @app.get("/readyz", response_model=Readiness, tags=["ops"], responses={503: {"model": Readiness}})
    async def readyz(request: Request) -> JSONResponse:
        report = request.app.state.readiness.report(service)
        return JSONResponse(report.model_dump(), status_code=200 if report.ready else 503)

    @app.get("/metrics", tags=["ops"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
    async def metrics() -> Response:
        return metrics_response()

    return app
