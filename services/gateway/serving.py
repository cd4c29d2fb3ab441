"""The gateway's serving class: its Redis client, the gatekeeper (keys, limits, admission), the
upstream clients and the answer pipeline; answers run under an admission that is given back
however they end. Light to construct; `warm_up` checks Redis; `aclose` closes every client."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import redis.asyncio as redis
from fastapi import Request
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

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
from services.common.errors import error_for
from services.common.http import ServiceClient
from services.common.streaming import ClosingEventSourceResponse
from services.gateway.auth import Admission, Gatekeeper
from services.gateway.cache import AnswerCache
from services.gateway.feedback import FeedbackStore
from services.gateway.pipeline import AnswerPipeline, Upstreams
from services.gateway.settings import GatewaySettings
from services.gateway.shadows import ShadowRunner
from services.gateway.variant_records import VariantRecords
from services.gateway.variants import Variant, VariantRouter
from services.gateway.versions import Versions

log = logging.getLogger(__name__)


def upstream_clients(settings: GatewaySettings) -> Upstreams:
    token = settings.service_token.get_secret_value() if settings.service_token else None
    return Upstreams(
        retriever=ServiceClient("gateway", "retriever", settings.retriever_url, timeout_s=settings.search_timeout_s,
                                token=token),
        generator=ServiceClient("gateway", "generator", settings.generator_url, timeout_s=settings.generate_timeout_s,
                                token=token),
        # Each guard call is bounded by its own stage limit; the client allows the longest of them.
        guard=ServiceClient("gateway", "guard", settings.guard_url,
                            timeout_s=max(settings.guard_timeout_s, settings.screen_timeout_s), token=token),
    )


class GatewayService:
    def __init__(self, settings: GatewaySettings, upstreams: Upstreams | None = None) -> None:
        self.settings = settings
        # Retried on a fresh connection: after a Redis restart the pooled ones are dead, and the first
        # request must not fail for that.
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2,
                                          retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
                                          retry_on_error=[redis.ConnectionError, redis.TimeoutError])
        self.gatekeeper = Gatekeeper(settings, self.redis)
        self.feedback = FeedbackStore(self.redis)
        self.upstreams = upstreams or upstream_clients(settings)
        self.variants = VariantRouter.from_settings(settings.variants, self.upstreams.generator,
                                                    self._variant_client)
        self.pipeline = AnswerPipeline(settings, self.upstreams, AnswerCache(self.redis, settings.cache_ttl_s),
                                       Versions(self.upstreams.retriever, timeout_s=settings.versions_timeout_s))
        self.variant_records = VariantRecords(self.redis)
        self.shadows = ShadowRunner(self.pipeline, self.variants, self.variant_records, settings.max_pending_shadows,
                                    self.gatekeeper.answers, settings.shadow_yields_to_live)

    def _variant_client(self, name: str, url: str) -> ServiceClient:
        token = self.settings.service_token.get_secret_value() if self.settings.service_token else None
        return ServiceClient("gateway", f"generator {name}", url, timeout_s=self.settings.generate_timeout_s,
                             token=token, transport=self.upstreams.transport)

    async def warm_up(self) -> str:
        try:
            info = await self.redis.info("server")
            return f"redis {info['redis_version']}"
        except redis.RedisError as exc:
            # Still ready: answers go on without the cache; keys verified before keep working.
            log.warning("redis unavailable at start: %s", exc)
            return "degraded, unreachable: answering without the cache"

    async def aclose(self) -> None:
        await self.shadows.aclose()
        await self.upstreams.aclose()
        for client in self.variants.clients():
            if client is not self.upstreams.generator:
                await client.aclose()
        await self.redis.aclose()

    def stream(self, request: AnswerRequest, admission: Admission, variant: Variant,
               render: Callable[[AnswerEvent], list[dict]], read_cache: bool = True) -> ClosingEventSourceResponse:
        """The answer as Server-Sent Events; the response owns the admission and gives it back when it closes."""
        self.shadows.preempt()

        async def events() -> AsyncIterator[dict]:
            async for event in self._remembered(request, admission, self.pipeline.run(request, variant, read_cache)):
                for item in render(admission.observe(event)):
                    yield item

        return ClosingEventSourceResponse(events(), on_close=admission.finish, send_timeout_s=self.settings.send_timeout_s)

    async def collect(self, http_request: Request, request: AnswerRequest, admission: Admission, variant: Variant,
                      read_cache: bool = True) -> list[AnswerEvent]:
        """The whole answer for a JSON response; cancelled (the generation aborted) if the client
        hangs up. An error event becomes the typed error."""
        self.shadows.preempt()

        async def events() -> list[AnswerEvent]:
            return [admission.observe(event) async for event in
                    self._remembered(request, admission, self.pipeline.run(request, variant, read_cache))]

        try:
            collected = await unless_disconnected(http_request, events())
        finally:
            await admission.finish()  # here, not in events(): a task cancelled before it starts runs no finally
        if isinstance(collected[-1], ErrorEvent):
            raise error_for(collected[-1].type, collected[-1].message)
        return collected


    async def _remembered(self, request: AnswerRequest, admission: Admission,
                          events: AsyncIterator[AnswerEvent]) -> AsyncIterator[AnswerEvent]:
        """The answer's events; a finished answer is remembered before its `done` goes out, so that
        feedback on it (POST /v1/feedback) can name what it rates; a fresh one is recorded for the
        variant report, and offered to the shadow variant."""
        sentences: list[str] = []
        async for event in events:
            if isinstance(event, SentenceEvent):
                sentences.append(event.text)
            elif isinstance(event, DoneEvent) and event.answer_id:
                collection = request.collection or self.settings.default_collection
                await self.gatekeeper.redis_quietly("feedback", self.feedback.remember_answer(
                    event.answer_id, admission.key, collection, request.question, " ".join(sentences), event.verdict))
                if not event.cache_hit:
                    await self.gatekeeper.redis_quietly("variants", self.variant_records.record(
                        event.variant or "", "live", event))
                    self.shadows.offer(request, event)
            yield event


def answer_document(events: list[AnswerEvent]) -> AnswerResponse:
    """`stream=false`: the same content as the stream, in one document."""
    by_kind = {type(e): e for e in events}
    sentences = [e for e in events if isinstance(e, SentenceEvent)]
    done: DoneEvent = by_kind[DoneEvent]
    return AnswerResponse(answer_id=done.answer_id, answer=" ".join(s.text for s in sentences), sentences=sentences,
                          sources=by_kind[SourcesEvent].sources, citations=by_kind[CitationsEvent].citations,
                          verdict=done.verdict, timings_ms=done.timings_ms, tokens=done.tokens,
                          cache_hit=done.cache_hit, dropped=done.dropped, corrected=done.corrected)
