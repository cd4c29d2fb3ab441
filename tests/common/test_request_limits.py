"""What every service refuses before parsing a body, and who may call the internal services."""

import asyncio
import json

import httpx
import pytest
from fastapi.testclient import TestClient

from services.common.app import ReadinessState, build_service_app
from services.common.contracts.search import SearchRequest
from services.common.limits import json_depth
from services.common.settings import ServiceSettings

TOKEN = "4b1d2c3e5f60718293a4b5c6d7e8f901"
ADMIN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def probe_app(**settings) -> TestClient:
    app = build_service_app("probe", ServiceSettings(**settings), readiness=ReadinessState(),
                            admin_token=settings.pop("admin", None))

    @app.post("/v1/search")
    async def search(request: SearchRequest) -> dict:
        return {"query": request.query}

    @app.post("/v1/admin/reload")
    async def reload() -> dict:
        return {"reloaded": True}

    return TestClient(app)


def test_a_body_over_the_limit_is_413_before_it_is_parsed():
    with probe_app(max_body_bytes=4096) as client:
        big = json.dumps({"query": "x" * 5000})
        response = client.post("/v1/search", content=big, headers={"content-type": "application/json"})
        assert response.status_code == 413 and response.json()["type"] == "payload_too_large"
        assert "4096 bytes" in response.json()["detail"]
        # Without a Content-Length (chunked), the count is taken as the body arrives.
        chunked = client.post("/v1/search", content=iter([big[:3000].encode(), big[3000:].encode()]),
                              headers={"content-type": "application/json"})
        assert chunked.status_code == 413
        assert client.post("/v1/search", json={"query": "fine"}).status_code == 200


def test_deeply_nested_json_is_refused_without_parsing():
    with probe_app(max_json_depth=8) as client:
        nested = '{"query": "q", "x": ' + "[" * 50 + "]" * 50 + "}"
        response = client.post("/v1/search", content=nested, headers={"content-type": "application/json"})
        assert response.status_code == 422 and "nests deeper than 8 levels" in response.json()["detail"]


@pytest.mark.parametrize(("text", "depth"), [
    (b'{"a": [1, {"b": 2}]}', 3), (b'"[[[["', 0), (b'{"a": "\\\\"}', 1), (b'{"a": "\\"[[["}', 1), (b"[" * 40000, 40000),
])
def test_json_depth_ignores_brackets_inside_strings(text, depth):
    assert json_depth(text) == depth


async def test_a_body_that_never_finishes_arriving_is_408():
    app = build_service_app("probe", ServiceSettings(body_timeout_s=0.3), readiness=ReadinessState())

    @app.post("/v1/search")
    async def search(request: SearchRequest) -> dict:
        return {"query": request.query}

    async def slow_body():
        yield b'{"query": '
        await asyncio.sleep(5)
        yield b'"late"}'

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
        response = await asyncio.wait_for(
            client.post("/v1/search", content=slow_body(), headers={"content-type": "application/json"}), 3)
    assert response.status_code == 408 and response.json()["type"] == "request_timeout"


def test_internal_routes_need_the_service_token_and_health_does_not():
    with probe_app(service_token=TOKEN) as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            response = client.post("/v1/search", json={"query": "q"}, headers=headers)
            assert response.status_code == 401 and response.json()["type"] == "unauthorized"
            assert TOKEN not in response.text
        assert client.post("/v1/search", json={"query": "q"}, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        for path in ("/healthz", "/readyz", "/metrics"):
            assert client.get(path).status_code in (200, 503)


def test_admin_routes_need_the_admin_token_not_the_service_token():
    with probe_app(service_token=TOKEN, admin=ADMIN) as client:
        assert client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 401
        assert client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {ADMIN}"}).status_code == 200
    with probe_app(service_token=TOKEN) as client:  # no admin token configured: admin is off
        response = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 403 and "no admin token" in response.json()["detail"]


def test_api_docs_are_public_in_development_only():
    with probe_app() as client:
        assert client.get("/openapi.json").status_code == 200 and client.get("/docs").status_code == 200
    with probe_app(environment="production", service_token=TOKEN) as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        assert client.get("/openapi.json").status_code == 404 and client.get("/docs").status_code == 404


def test_production_refuses_a_missing_or_placeholder_service_token():
    with pytest.raises(ValueError, match="NINJARAG_SERVICE_TOKEN is not set"):
        ServiceSettings(environment="production")
    with pytest.raises(ValueError, match="placeholder"):
        ServiceSettings(environment="production", service_token="change-me-to-another-long-random-secret")
