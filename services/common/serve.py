"""Run a service app under uvicorn: `python -m services.<name>`."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI
from prometheus_client import start_http_server

from services.common.logging import configure_logging
from services.common.settings import ServiceSettings


def serve(service: str, settings: ServiceSettings, create_app: Callable[[ServiceSettings], FastAPI]) -> None:
    configure_logging(service, settings.log_level)
    if settings.metrics_port:
        # Its own port, so that a NetworkPolicy can let monitoring reach the metrics and nothing else.
        start_http_server(settings.metrics_port, addr=settings.host)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep the JSON logging configured above
        access_log=False,  # the request middleware logs each request with its request id
        timeout_graceful_shutdown=10,
    )
