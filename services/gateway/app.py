"""Gateway app factory: POST /v1/answer (SSE or JSON) and the OpenAI-compatible /v1/chat/completions."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from fastapi import Depends, FastAPI, Request

from services.common.app import ReadinessState, build_service_app
from services.common.contracts.answer import (
    AnswerEvent,
    AnswerRequest,
    AnswerResponse,
    CitationsEvent,
    DoneEvent,
    ErrorEvent,
    SentenceEvent,
    SourcesEvent,
)
from services.common.disconnect import unless_disconnected
from services.common.errors import Forbidden, InvalidRequest, error_for
from services.common.http import ServiceClient
from services.common.streaming import ClosingEventSourceResponse
from services.gateway import openai_compat
from services.gateway.auth import Admission, Gatekeeper
from services.gateway.cache import AnswerCache
from services.gateway.keys import ApiKey
from services.gateway.pipeline import AnswerPipeline, Upstreams
from services.gateway.settings import GatewaySettings
from services.gateway.versions import Versions

log = logging.getLogger(__name__)

def create_app(settings: GatewaySettings, upstreams: Upstreams | None = None) -> FastAPI:
    readiness = ReadinessState("redis")
    # Retried on a fresh connection: after a Redis restart the pooled ones are dead, and the first
    # request must not fail for that.
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2,
                                  retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
                                  retry_on_error=[redis.ConnectionError, redis.TimeoutError])
    gatekeeper = Gatekeeper(settings, client)
    token = settings.service_token.get_secret_value() if settings.service_token else None
    upstreams = upstreams or Upstreams(
        retriever=ServiceClient("gateway", "retriever", settings.retriever_url, timeout_s=settings.search_timeout_s,
                                token=token),
        generator=ServiceClient("gateway", "generator", settings.generator_url, timeout_s=settings.generate_timeout_s,
                                token=token),
        # Each guard call is bounded by its own stage limit; the client allows the longest of them.
        guard=ServiceClient("gateway", "guard", settings.guard_url,
                            timeout_s=max(settings.guard_timeout_s, settings.screen_timeout_s), token=token),
    )
    pipeline = AnswerPipeline(settings, upstreams, AnswerCache(client, settings.cache_ttl_s),
                              Versions(upstreams.retriever, upstreams.generator, timeout_s=settings.versions_timeout_s))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            info = await client.info("server")
            readiness.mark_ok("redis", f"redis {info['redis_version']}")
        except redis.RedisError as exc:
            # Still ready: answers go on without the cache; keys verified before keep working.
            log.warning("redis unavailable at start: %s", exc)
            readiness.mark_ok("redis", "degraded, unreachable: answering without the cache")
        yield
        await upstreams.aclose()
        await client.aclose()

    app = build_service_app("gateway", settings, readiness=readiness, lifespan=lifespan, internal=False)
    app.state.redis = client
    app.state.gatekeeper = gatekeeper
    app.state.versions = pipeline.versions

    async def admitted_key(request: Request) -> ApiKey:
        key = await gatekeeper.authenticate(request)
        await gatekeeper.rate_limit(key)
        return key

    async def collect(http_request: Request, request: AnswerRequest, admission: Admission,
                      read_cache: bool = True) -> list[AnswerEvent]:
        """The whole answer for a JSON response; cancelled (the generation aborted) if the client hangs up."""
        async def events() -> list[AnswerEvent]:
            return [admission.observe(event) async for event in pipeline.run(request, read_cache)]

        try:
            return await unless_disconnected(http_request, events())
        finally:
            await admission.finish()  # here, not in events(): a task cancelled before it starts runs no finally

    def event_stream(request: AnswerRequest, admission: Admission, render, read_cache: bool = True  # noqa: ANN001
                     ) -> ClosingEventSourceResponse:
        async def events() -> AsyncIterator[dict]:
            async for event in pipeline.run(request, read_cache):
                for item in render(admission.observe(event)):
                    yield item

        return ClosingEventSourceResponse(events(), on_close=admission.finish, send_timeout_s=settings.send_timeout_s)

    @app.post("/v1/answer", response_model=AnswerResponse,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "sources, sentence*, citations, then done or error"}})
    async def answer(body: AnswerRequest, request: Request, key: ApiKey = Depends(admitted_key)):  # noqa: ANN201, B008
        if not body.guard and not settings.allow_unguarded:
            raise Forbidden("guard: false is allowed only where the gateway runs with GATEWAY_ALLOW_UNGUARDED=true "
                            "(evaluation stacks, never production); drop the field to get a guarded answer")
        gatekeeper.check_request_size(body.top_k, body.max_tokens)
        read_cache = "no-cache" not in request.headers.get("cache-control", "").lower()
        admission = await gatekeeper.admit(key)  # before the response starts: a refusal is still a plain 429/503
        if body.stream:
            return event_stream(body, admission, lambda event: [{"event": event.event, "data": event.model_dump_json()}],
                                read_cache)
        events = await collect(request, body, admission, read_cache)
        if isinstance(events[-1], ErrorEvent):
            raise error_for(events[-1].type, events[-1].message)
        by_kind = {type(e): e for e in events}
        sentences = [e for e in events if isinstance(e, SentenceEvent)]
        done: DoneEvent = by_kind[DoneEvent]
        return AnswerResponse(answer=" ".join(s.text for s in sentences), sentences=sentences,
                              sources=by_kind[SourcesEvent].sources, citations=by_kind[CitationsEvent].citations,
                              verdict=done.verdict, timings_ms=done.timings_ms, tokens=done.tokens,
                              cache_hit=done.cache_hit, dropped=done.dropped)

    @app.post("/v1/chat/completions")
    async def chat_completions(body: openai_compat.ChatCompletionRequest, http_request: Request,
                               key: ApiKey = Depends(admitted_key)):  # noqa: ANN201, B008
        try:
            request = AnswerRequest(question=body.question(), max_tokens=body.max_tokens or 256)
        except ValueError as exc:
            raise InvalidRequest(str(exc).splitlines()[-1] if "validation" in str(exc) else str(exc)) from None
        gatekeeper.check_request_size(request.top_k, request.max_tokens)
        admission = await gatekeeper.admit(key)
        chat_id = openai_compat.completion_id()
        if body.stream:
            state = {"first": True}

            def render(event: AnswerEvent) -> list[dict]:
                if isinstance(event, SentenceEvent):
                    delta = openai_compat.sentence_delta(event, state["first"])
                    if state["first"]:
                        delta["role"] = "assistant"
                    state["first"] = False
                    return [{"data": json.dumps(openai_compat.chunk(chat_id, body.model, delta))}]
                if isinstance(event, CitationsEvent):
                    return [{"data": json.dumps(openai_compat.chunk(chat_id, body.model, {}, "stop", event.citations))}]
                if isinstance(event, ErrorEvent):
                    return [{"data": json.dumps({"error": {"type": event.type, "message": event.message}})},
                            {"data": "[DONE]"}]
                if isinstance(event, DoneEvent):
                    return [{"data": "[DONE]"}]
                return []

            return event_stream(request, admission, render)
        events = await collect(http_request, request, admission)
        if isinstance(events[-1], ErrorEvent):
            raise error_for(events[-1].type, events[-1].message)
        sentences = [e for e in events if isinstance(e, SentenceEvent)]
        citations = next((e for e in events if isinstance(e, CitationsEvent)), None)
        return openai_compat.completion(chat_id, body.model, sentences, citations, events[-1])

    return app
