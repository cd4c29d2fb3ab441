"""An evaluation answer refused for load (429, 503 with Retry-After) is asked again, not scored as an error."""

import asyncio
import json

import httpx

from ninjarag.eval import runner
from ninjarag.eval.dataset import EvalQuestion
from ninjarag.eval.systems import SYSTEMS

SOURCE = {"n": 1, "id": "p", "title": "France", "text": "Paris is the capital of France.", "score": 1.0}
EVENTS = [("sources", {"event": "sources", "sources": [SOURCE]}),
          ("sentence", {"event": "sentence", "index": 0, "text": "Paris [1].", "citations": [1]}),
          ("citations", {"event": "citations", "citations": [SOURCE]}),
          ("done", {"event": "done", "verdict": "ok", "timings_ms": {}, "tokens": {"prompt": 1, "completion": 1},
                    "cache_hit": False})]


def evaluate(busy_answers: int) -> tuple[object, int]:
    calls = {"answer": 0}

    def gateway(request: httpx.Request) -> httpx.Response:
        calls["answer"] += 1
        calls["model"] = json.loads(request.content)["model"]  # the variant asked for (`eval --variant`)
        if calls["answer"] <= busy_answers:
            return httpx.Response(429, headers={"Retry-After": "0", "content-type": "application/problem+json"},
                                  json={"type": "rate_limited", "title": "t", "status": 429, "detail": "busy"})
        body = "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in EVENTS)
        return httpx.Response(200, content=body.encode(), headers={"content-type": "text/event-stream"})

    def guard(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"scores": [{"score": 0.9, "supported": True}], "threshold": 0.7})

    async def run():  # noqa: ANN202
        config = runner.EvalConfig(questions=None, out=None, gateways={}, guard_url="", api_key="k", systems=[],
                                   limit=None, concurrency=1, top_k=1, max_tokens=8, restart=False, command="")
        async with httpx.AsyncClient(transport=httpx.MockTransport(gateway), base_url="http://g") as g, \
                httpx.AsyncClient(transport=httpx.MockTransport(guard), base_url="http://guard") as gd:
            return await runner._evaluate(g, gd, config, EvalQuestion("q", "Capital of France?", ["Paris"]),
                                          SYSTEMS["hybrid"], "tuned")

    record = asyncio.run(run())
    assert calls["model"] == "tuned"
    return record, calls["answer"]


def test_an_answer_refused_for_load_is_asked_again():
    record, calls = evaluate(busy_answers=2)
    assert record.error_type is None and record.accuracy == 1.0 and calls == 3


def test_a_gateway_that_stays_busy_is_an_error_after_a_few_tries():
    record, calls = evaluate(busy_answers=100)
    assert record.error_type == "rate_limited" and calls == 1 + runner.BUSY_RETRIES
