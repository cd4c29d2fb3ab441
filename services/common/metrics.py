"""Prometheus metrics shared by all services. Defined once per process (the registry is global)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.responses import Response

LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "ninjarag_http_requests_total",
    "HTTP requests served, by route and status.",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "ninjarag_http_request_duration_seconds",
    "Time to the response head (streams continue after it).",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS_S,
)
HTTP_IN_FLIGHT = Gauge(
    "ninjarag_http_requests_in_flight",
    "Requests being served now.",
    ["service"],
)
UPSTREAM_CALLS = Counter(
    "ninjarag_upstream_calls_total",
    "Outbound calls to other services, by outcome.",
    ["service", "upstream", "outcome"],
)


def metrics_response() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
