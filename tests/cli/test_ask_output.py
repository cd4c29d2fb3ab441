"""`ninjarag ask` reads the gateway's typed stream and prints what the service sent as text, never
as terminal control sequences."""

import asyncio
import json

import httpx
import pytest

from ninjarag.ask import print_answer, printable
from ninjarag.errors import UserError
from services.common.contracts.answer import AnswerRequest


def sse(*events: tuple[str, dict]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def printed_for(body: bytes, status: int = 200) -> list[str]:
    def gateway(request: httpx.Request) -> httpx.Response:
        content_type = "text/event-stream" if status == 200 else "application/problem+json"
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    async def run() -> list[str]:
        printed: list[str] = []
        async with httpx.AsyncClient(transport=httpx.MockTransport(gateway), base_url="http://gateway") as client:
            await print_answer(client, AnswerRequest(question="Where is Paris?"), "key", printed.append)
        return printed

    return asyncio.run(run())


DONE = {"event": "done", "verdict": "ok", "timings_ms": {"total": 12.0}, "tokens": {"prompt": 3, "completion": 2},
        "cache_hit": False}


def test_escape_sequences_from_an_answer_never_reach_the_terminal():
    hostile = "Paris\x1b]0;owned\x07 is \x1b[2J\x1b[31mred\x9b31m"
    assert "\x1b" not in printable(hostile) and "\x07" not in printable(hostile) and "\x9b" not in printable(hostile)
    assert printable("Line one\nline two\ttab") == "Line one\nline two\ttab"
    printed = printed_for(sse(
        ("sources", {"event": "sources", "sources": []}),
        ("sentence", {"event": "sentence", "index": 0, "text": "A \x1b[2J b [1].", "citations": [1]}),
        ("citations", {"event": "citations", "citations": [{"n": 1, "title": "T\x1b[31m", "id": "x", "text": "t"}]}),
        ("done", DONE)))
    assert printed[0] == "A [2J b [1]." and "  [1] T[31m" in printed
    assert not any("\x1b" in line for line in printed)
    assert printed[-1].startswith("\n(ok; 0 passages retrieved; total 12 ms)")


def test_an_error_event_and_a_refused_request_say_what_happened():
    with pytest.raises(UserError, match="the answer failed: upstream_timeout: the generator took too long"):
        printed_for(sse(("error", {"event": "error", "type": "upstream_timeout", "message": "the generator took too long"})))
    with pytest.raises(UserError, match="gateway answered 401 unauthorized: send your API key"):
        printed_for(json.dumps({"type": "unauthorized", "detail": "send your API key"}).encode(), status=401)


def test_a_stream_that_breaks_the_contract_is_named_not_crashed_on():
    with pytest.raises(UserError, match="unreadable_event: 'sentence' event"):
        printed_for(sse(("sentence", {"event": "sentence", "text": "no index or citations"})))
    with pytest.raises(UserError, match="without a final event"):
        printed_for(sse(("sources", {"event": "sources", "sources": []})))
