"""The service-to-service client, with faults injected at the network boundary."""

import httpx
import pytest

from services.common.contracts.health import Readiness
from services.common.contracts.search import IndexInfo, SearchRequest, SearchResult
from services.common.errors import InvalidRequest, Overloaded, UpstreamError, UpstreamTimeout
from services.common.http import ServiceClient
from services.common.request_context import reset_request_id, set_request_id

OK_BODY = {"passages": [], "index_version": "v1", "timings_ms": {"total": 1.0}}
OVERLOADED = {"type": "overloaded", "title": "t", "status": 503, "detail": "queue full"}


def client_with(handler, **kwargs) -> ServiceClient:
    return ServiceClient("test", "retriever", "http://retriever", timeout_s=1.0,
                         transport=httpx.MockTransport(handler), **kwargs)


async def test_idempotent_call_is_retried_until_it_succeeds():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(503, json=OVERLOADED) if len(calls) < 3 else httpx.Response(200, json=OK_BODY)

    client = client_with(handler)
    result = await client.post_json("/v1/search", SearchRequest(query="q"), SearchResult, idempotent=True)
    assert result.index_version == "v1"
    assert len(calls) == 3


async def test_non_idempotent_call_is_not_retried():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(503, json=OVERLOADED)

    with pytest.raises(Overloaded, match="retriever: queue full"):
        await client_with(handler).post_json("/v1/search", SearchRequest(query="q"), SearchResult, idempotent=False)
    assert len(calls) == 1


async def test_retries_give_up_after_the_attempt_budget():
    calls = []

    def handler(request):
        calls.append(request)
        raise httpx.ConnectError("connection refused")

    with pytest.raises(UpstreamError, match="cannot reach retriever") as failed:
        await client_with(handler, attempts=2).get_json("/readyz", Readiness)
    assert len(calls) == 2
    assert "http://retriever" not in str(failed.value), "internal addresses stay in the log, out of client errors"


async def test_the_service_token_travels_with_every_call():
    seen = []

    def handler(request):
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"index_version": "v1", "passages": 2, "encoding": "plain"})

    client = ServiceClient("test", "retriever", "http://retriever", timeout_s=1.0, token="s3cret",
                           transport=httpx.MockTransport(handler))
    assert (await client.get_json("/v1/index", IndexInfo)).index_version == "v1"
    assert seen == ["Bearer s3cret"]


async def test_timeout_becomes_upstream_timeout():
    def handler(request):
        raise httpx.ReadTimeout("slow")

    with pytest.raises(UpstreamTimeout, match="did not answer in time"):
        await client_with(handler, attempts=1).get_json("/readyz", Readiness)


async def test_client_error_is_rebuilt_as_the_typed_error_and_not_retried():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(422, json={"type": "invalid_request", "title": "t", "status": 422, "detail": "top_k: too big"})

    with pytest.raises(InvalidRequest, match="top_k: too big"):
        await client_with(handler).post_json("/v1/search", SearchRequest(query="q"), SearchResult, idempotent=True)
    assert len(calls) == 1


async def test_request_id_travels_with_the_call():
    seen = {}

    def handler(request):
        seen["id"] = request.headers.get("x-request-id")
        return httpx.Response(200, json=OK_BODY)

    token = set_request_id("req-99")
    try:
        await client_with(handler).post_json("/v1/search", SearchRequest(query="q"), SearchResult, idempotent=True)
    finally:
        reset_request_id(token)
    assert seen["id"] == "req-99"


async def test_stream_events_yields_parsed_server_sent_events():
    body = b'event: token\ndata: {"index": 0, "text": "Hi"}\n\nevent: done\ndata: {"finish_reason": "stop"}\n\n'

    def handler(request):
        return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})

    events = [event async for event in client_with(handler).stream_events("/v1/generate", SearchRequest(query="q"))]
    assert events == [("token", {"index": 0, "text": "Hi"}), ("done", {"finish_reason": "stop"})]


async def test_stream_error_status_becomes_a_typed_error():
    def handler(request):
        return httpx.Response(503, json=OVERLOADED)

    with pytest.raises(Overloaded):
        async for _ in client_with(handler).stream_events("/v1/generate", SearchRequest(query="q")):
            pass
