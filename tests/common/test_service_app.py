"""The skeleton every service shares: problem+json errors, health, readiness, metrics, request ids."""

import pytest
from fastapi.testclient import TestClient

from services.common.app import ReadinessState, build_service_app
from services.common.contracts.search import SearchRequest
from services.common.errors import NotReady, Overloaded
from services.common.request_context import current_request_id
from services.common.settings import ServiceSettings


@pytest.fixture
def client():
    readiness = ReadinessState("index")
    app = build_service_app("probe", ServiceSettings(), readiness=readiness)

    @app.post("/v1/search")
    async def search(request: SearchRequest) -> dict:
        if request.query == "overload":
            raise Overloaded("queue is full", retry_after_s=2.4)
        if request.query == "crash":
            raise RuntimeError("boom")
        return {"query": request.query, "request_id": current_request_id()}

    with TestClient(app, raise_server_exceptions=False) as client:
        client.readiness = readiness
        yield client


def test_invalid_body_is_a_422_problem_naming_the_field(client):
    response = client.post("/v1/search", json={"query": "ok", "k": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "invalid_request"
    assert body["errors"] == [{"field": "k", "message": "Input should be greater than or equal to 1"}]
    assert "k: " in body["detail"]


def test_malformed_json_is_a_422_problem(client):
    response = client.post("/v1/search", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["type"] == "invalid_request"


def test_unknown_route_is_a_404_problem(client):
    response = client.get("/v1/nothing")
    assert response.status_code == 404
    assert response.json()["type"] == "not_found"


def test_typed_error_maps_to_its_status_and_retry_after(client):
    response = client.post("/v1/search", json={"query": "overload"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert response.json()["type"] == "overloaded"


def test_unexpected_error_is_a_500_problem_and_the_service_keeps_serving(client):
    response = client.post("/v1/search", json={"query": "crash"})
    assert response.status_code == 500
    assert response.json()["type"] == "internal_error"
    assert "boom" not in response.text  # internals stay in the log
    assert client.post("/v1/search", json={"query": "fine"}).status_code == 200


def test_request_id_is_propagated_or_issued(client):
    response = client.post("/v1/search", json={"query": "q"}, headers={"X-Request-ID": "req-42"})
    assert response.headers["x-request-id"] == "req-42"
    assert response.json()["request_id"] == "req-42"
    issued = client.post("/v1/search", json={"query": "q"})
    assert len(issued.headers["x-request-id"]) == 32
    assert issued.json()["request_id"] == issued.headers["x-request-id"]


def test_problem_carries_the_request_id(client):
    response = client.post("/v1/search", json={}, headers={"X-Request-ID": "req-7"})
    assert response.json()["request_id"] == "req-7"


def test_readyz_is_503_until_every_check_passes(client):
    assert client.get("/healthz").json() == {"service": "probe", "status": "alive"}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"index": "pending"}
    client.readiness.mark_ok("index", "12 passages")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"service": "probe", "ready": True, "checks": {"index": "ok: 12 passages"}}
    client.readiness.mark_failed("index", "file missing")
    assert client.get("/readyz").status_code == 503


def test_metrics_count_requests_by_route_and_status(client):
    client.post("/v1/search", json={"query": "q"})
    text = client.get("/metrics").text
    assert 'ninjarag_http_requests_total{method="POST",route="/v1/search",service="probe",status="200"}' in text
    assert "ninjarag_http_request_duration_seconds_bucket" in text


def test_require_says_what_is_still_loading_until_every_check_passed():
    readiness = ReadinessState("index", "models")
    readiness.mark_ok("models", "minilm")
    with pytest.raises(NotReady, match=r"retriever is not ready \(index: pending\)") as waiting:
        readiness.require("retriever")
    assert waiting.value.retry_after_s == 5
    readiness.mark_failed("index", "no manifest")
    with pytest.raises(NotReady, match="index: failed: no manifest"):
        readiness.require("retriever")
    readiness.mark_ok("index")
    readiness.require("retriever")
