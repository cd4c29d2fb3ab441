"""The remote engine speaks vLLM's OpenAI-compatible completions API: what it sends, what it reads."""

import asyncio
import json

import httpx
import pytest

from services.generator.engine import Sampling
from services.generator.remote_engine import RemoteEngine

STREAM = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in [
    {"choices": [{"text": "Paris", "finish_reason": None}]},
    {"choices": [{"text": " [1].", "finish_reason": "stop"}]},
    {"choices": [], "usage": {"completion_tokens": 3}},
]) + "data: [DONE]\n\n"


def generate(sampling: Sampling) -> tuple[list, dict]:
    sent = {}

    def handle(request: httpx.Request) -> httpx.Response:
        sent.update(json.loads(request.content))
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=STREAM.encode())

    async def run() -> list:
        engine = RemoteEngine("http://engine", "m", 5, transport=httpx.MockTransport(handle))
        try:
            return [delta async for delta in engine.stream("r1", [1, 2, 3], sampling)]
        finally:
            await engine.shutdown()

    return asyncio.run(run()), sent


@pytest.mark.parametrize(("penalty", "sent_penalty"), [(1.0, None), (1.15, 1.15)])
def test_the_repetition_penalty_is_sent_only_when_set(penalty, sent_penalty):
    deltas, sent = generate(Sampling(max_tokens=8, temperature=0.0, repetition_penalty=penalty))
    assert sent.get("repetition_penalty") == sent_penalty
    assert sent["prompt"] == [1, 2, 3] and sent["max_tokens"] == 8 and sent["stream"] is True
    assert "".join(d.text for d in deltas) == "Paris [1]." and deltas[-1].completion_tokens == 3
    assert deltas[-1].finish_reason == "stop"
