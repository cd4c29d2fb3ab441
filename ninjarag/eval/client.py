"""One answer from the gateway, the way an application gets it: POST /v1/answer, streamed, with the
times the user would see (first sentence, whole answer) measured on the client."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx
from httpx_sse import EventSource

from services.common.contracts.answer import AnswerRequest
from services.common.http import bearer


@dataclass
class GatewayAnswer:
    sources: list[dict] = field(default_factory=list)
    sentences: list[dict] = field(default_factory=list)
    verdict: str | None = None
    dropped: int = 0
    cache_hit: bool = False
    server_timings_ms: dict[str, float] = field(default_factory=dict)
    completion_tokens: int | None = None  # what the model generated, before the guard
    first_sentence_ms: float | None = None
    total_ms: float = 0.0
    error_type: str | None = None
    error: str | None = None
    retry_after_s: float | None = None  # from a 429 or 503

    @property
    def text(self) -> str:
        return " ".join(s["text"] for s in self.sentences)


async def ask_gateway(client: httpx.AsyncClient, request: AnswerRequest, api_key: str | None,
                      fresh: bool = True) -> GatewayAnswer:
    """Never raises for what the service answers: HTTP errors and error events land in `error_type`.
    `fresh` sends `Cache-Control: no-cache` so every question is really answered."""
    # Not httpx_sse.aconnect_sse: it overwrites Cache-Control with its own `no-store`.
    headers = {"Accept": "text/event-stream"} | bearer(api_key)
    if fresh:
        headers["Cache-Control"] = "no-cache"
    answer = GatewayAnswer()
    started = time.perf_counter()
    try:
        async with client.stream("POST", "/v1/answer", json=request.model_dump(mode="json"), headers=headers) as response:
            if response.is_error:
                await response.aread()
                answer.error_type, answer.error = _problem(response)
                if retry_after := response.headers.get("retry-after"):
                    answer.retry_after_s = float(retry_after)
            else:
                async for sse in EventSource(response).aiter_sse():
                    _apply(answer, sse.event, json.loads(sse.data) if sse.data else {}, started)
                if answer.verdict is None and answer.error_type is None:
                    answer.error_type, answer.error = "incomplete_stream", "the stream ended without done or error"
    except httpx.HTTPError as exc:
        answer.error_type, answer.error = "transport_error", f"{type(exc).__name__}: {exc}"
    answer.total_ms = round((time.perf_counter() - started) * 1000, 2)
    return answer


def _apply(answer: GatewayAnswer, event: str, data: dict, started: float) -> None:
    if event == "sources":
        answer.sources = data["sources"]
    elif event == "sentence":
        if answer.first_sentence_ms is None:
            answer.first_sentence_ms = round((time.perf_counter() - started) * 1000, 2)
        answer.sentences.append({"text": data["text"], "citations": data["citations"]})
    elif event == "done":
        answer.verdict, answer.dropped, answer.cache_hit = data["verdict"], data.get("dropped", 0), data["cache_hit"]
        answer.server_timings_ms = data["timings_ms"]
        answer.completion_tokens = data.get("tokens", {}).get("completion")
    elif event == "error":
        answer.error_type, answer.error = data["type"], data["message"]


def _problem(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
        return body.get("type", f"http_{response.status_code}"), body.get("detail", "")
    except ValueError:
        return f"http_{response.status_code}", response.text[:200]
