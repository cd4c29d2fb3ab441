"""The gateway's answer stream, typed, the way an application reads it: POST /v1/answer, each
Server-Sent Event parsed into its `AnswerEvent` contract. `ninjarag ask`, `ninjarag eval` and the
benchmarks all read answers through here, with the times the user would see (first sentence,
whole answer) measured on the client."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from httpx_sse import EventSource
from pydantic import TypeAdapter, ValidationError

from services.common.contracts.answer import (
    AnswerEvent,
    AnswerRequest,
    DoneEvent,
    ErrorEvent,
    SentenceEvent,
    Source,
    SourcesEvent,
)
from services.common.http import bearer

_ANSWER_EVENT: TypeAdapter[AnswerEvent] = TypeAdapter(AnswerEvent)


class GatewayProblem(Exception):
    """The gateway refused the request (an HTTP error with a problem document) or sent a stream
    this client cannot read."""

    def __init__(self, type_: str, detail: str, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(f"{type_}: {detail}")
        self.type, self.detail, self.status, self.retry_after_s = type_, detail, status, retry_after_s

    @classmethod
    def from_response(cls, response: httpx.Response) -> GatewayProblem:
        retry_after = response.headers.get("retry-after")
        try:
            body = response.json()
            type_, detail = body.get("type", f"http_{response.status_code}"), body.get("detail", "")
        except ValueError:
            type_, detail = f"http_{response.status_code}", response.text[:200]
        return cls(type_, detail, response.status_code, float(retry_after) if retry_after else None)


async def answer_events(client: httpx.AsyncClient, request: AnswerRequest, api_key: str | None,
                        fresh: bool = True) -> AsyncIterator[AnswerEvent]:
    """The answer's events as they arrive. `fresh` sends `Cache-Control: no-cache` so the question is
    really answered. Raises GatewayProblem for a refused request or an unreadable event."""
    # Not httpx_sse.aconnect_sse: it overwrites Cache-Control with its own `no-store`.
    headers = {"Accept": "text/event-stream"} | bearer(api_key)
    if fresh:
        headers["Cache-Control"] = "no-cache"
    async with client.stream("POST", "/v1/answer", json=request.model_dump(mode="json"), headers=headers) as response:
        if response.is_error:
            await response.aread()
            raise GatewayProblem.from_response(response)
        async for sse in EventSource(response).aiter_sse():
            try:
                yield _ANSWER_EVENT.validate_json(sse.data)
            except ValidationError as exc:
                raise GatewayProblem("unreadable_event", f"{sse.event!r} event: {exc.errors()[0]['msg']}") from None


@dataclass
class GatewayAnswer:
    sources: list[Source] = field(default_factory=list)
    sentences: list[SentenceEvent] = field(default_factory=list)
    done: DoneEvent | None = None
    first_sentence_ms: float | None = None
    total_ms: float = 0.0
    error_type: str | None = None
    error: str | None = None
    retry_after_s: float | None = None  # from a 429 or 503

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    @property
    def verdict(self) -> str | None:
        return self.done.verdict if self.done else None


async def ask_gateway(client: httpx.AsyncClient, request: AnswerRequest, api_key: str | None,
                      fresh: bool = True) -> GatewayAnswer:
    """The whole answer. Never raises for what the service answers: refusals, error events and
    transport failures land in `error_type`."""
    answer = GatewayAnswer()
    started = time.perf_counter()
    try:
        async for event in answer_events(client, request, api_key, fresh):
            if isinstance(event, SourcesEvent):
                answer.sources = event.sources
            elif isinstance(event, SentenceEvent):
                if answer.first_sentence_ms is None:
                    answer.first_sentence_ms = round((time.perf_counter() - started) * 1000, 2)
                answer.sentences.append(event)
            elif isinstance(event, DoneEvent):
                answer.done = event
            elif isinstance(event, ErrorEvent):
                answer.error_type, answer.error = event.type, event.message
        if answer.done is None and answer.error_type is None:
            answer.error_type, answer.error = "incomplete_stream", "the stream ended without done or error"
    except GatewayProblem as problem:
        answer.error_type, answer.error, answer.retry_after_s = problem.type, problem.detail, problem.retry_after_s
    except httpx.HTTPError as exc:
        answer.error_type, answer.error = "transport_error", f"{type(exc).__name__}: {exc}"
    answer.total_ms = round((time.perf_counter() - started) * 1000, 2)
    return answer
