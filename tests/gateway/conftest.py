"""The gateway with a real Redis and scripted upstreams at its network boundary (httpx transports),
so that faults and exact answers can be injected. The real services are tested together in tests/stack."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi.testclient import TestClient

from services.common.http import ServiceClient
from services.gateway.app import create_app
from services.gateway.pipeline import Upstreams
from services.gateway.settings import GatewaySettings
from tests.helpers import sse_events

PASSAGES = [
    {"id": "apollo", "title": "Apollo 11", "text": "Apollo 11 landed humans on the Moon in 1969.", "score": 9.0},
    {"id": "paris", "title": "Paris", "text": "Paris is the capital of France.", "score": 5.0},
]
SUPPORTED = "Apollo 11 landed on the Moon in 1969 [1]."
UNSUPPORTED = "It landed in 1972 [1]."


def sse(events: list[tuple[str, dict]]) -> bytes:
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()


def generation(text: str, pieces: int = 4) -> list[tuple[str, dict]]:
    size = max(1, len(text) // pieces)
    tokens = [text[i:i + size] for i in range(0, len(text), size)]
    events = [("token", {"event": "token", "index": i, "text": t}) for i, t in enumerate(tokens)]
    events.append(("done", {"event": "done", "finish_reason": "stop", "ttft_ms": 5.0, "total_ms": 20.0,
                            "model": "test-model", "usage": {"prompt_tokens": 120, "completion_tokens": 30,
                                                             "bucket": 128, "padding_waste": 8,
                                                             "passages_used": ["apollo", "paris"]}}))
    return events


@dataclass
class Script:
    """What the fake upstreams answer; tests change it."""

    answer: str = SUPPORTED + " Paris is the capital of France [2]."
    question_allowed: bool = True
    flagged_passages: list[str] = field(default_factory=list)
    generator_fails_mid_stream: bool = False
    generator_stalls_mid_stream: bool = False
    retriever_delay_s: float = 0.0
    retriever_status: int = 200
    model_delay_s: float = 0.0
    retriever_unreachable: bool = False
    guard_forgets_passage_sets: bool = False  # as after a guard restart, or on another replica
    quote_relevance: float = 0.0  # of the guard's proposed quotes; 0: no quote is relevant enough
    trims: dict[str, str] = field(default_factory=dict)  # sentence -> the supported trim the guard proposes
    passage_sets: dict[str, list[dict]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    last_body: dict[str, dict] = field(default_factory=dict)
    collections: tuple[str, ...] = ("demo", "team", "secret")
    jobs: dict[str, str] = field(default_factory=dict)  # job id -> collection
    generated_by: list[str] = field(default_factory=list)  # the generator host of each generation
    slow_generators: dict[str, float] = field(default_factory=dict)  # host -> seconds before it answers

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls[path] = self.calls.get(path, 0) + 1
        if path.startswith(("/v1/collections", "/v1/jobs")):
            return self._collections(request, path)
        body = json.loads(request.content) if request.content else {}
        self.last_body[path] = body
        if path == "/v1/index":
            return httpx.Response(200, json={"index_version": "idx-1", "passages": 2, "encoding": "plain"})
        if path == "/v1/model":
            model = "test-model" if request.url.host == "generator" else f"model-{request.url.host}"
            response = httpx.Response(200, json={"model": model, "max_model_len": 2048, "prompt_template": "rag-v1"})
            return _later(response, self.model_delay_s) if self.model_delay_s else response
        if path == "/v1/search":
            if self.retriever_unreachable:
                raise httpx.ConnectError("connection refused")
            if self.retriever_status != 200:
                return httpx.Response(self.retriever_status, json={"type": "index_unavailable", "title": "t",
                                                                   "status": self.retriever_status, "detail": "no index"})
            response = httpx.Response(200, json={"passages": PASSAGES[: body["k"]], "index_version": "idx-1",
                                                 "timings_ms": {"total": 1.0}})
            return _later(response, self.retriever_delay_s) if self.retriever_delay_s else response
        if path == "/v1/guard/input":
            allowed = self.question_allowed
            return httpx.Response(200, json={"allowed": allowed, "reason": "allowed" if allowed else "toxic",
                                             "categories": [{"name": "toxicity", "score": 0.0 if allowed else 0.99,
                                                             "flagged": not allowed}]})
        if path == "/v1/guard/passages":
            kept = [p for p in body["passages"] if p["id"] not in self.flagged_passages]
            passage_set = f"{len(self.passage_sets):064x}"
            self.passage_sets[passage_set] = kept
            return httpx.Response(200, json={"flagged": [{"id": i, "score": 1.0, "reason": "injection"}
                                                         for i in self.flagged_passages], "passage_set": passage_set})
        if path == "/v1/guard/output":
            passages = body.get("passages", [])
            if body.get("passage_set"):
                if self.guard_forgets_passage_sets:
                    return httpx.Response(409, json={"type": "unknown_passage_set", "title": "t", "status": 409,
                                                     "detail": "send the passages"})
                passages = self.passage_sets[body["passage_set"]]
            quote = {"passage": 1, "text": "Apollo 11 landed humans on the Moon in 1969.",
                     "relevance": self.quote_relevance} if passages else None
            return httpx.Response(200, json={"best_quote": quote if body.get("with_best_quote") else None,
                                             "sentences": [self._judge(s, passages, quote) for s in body["sentences"]]})
        if path == "/v1/generate":
            self.generated_by.append(request.url.host)
            events = generation(self.answer)
            if self.generator_fails_mid_stream or self.generator_stalls_mid_stream:
                return httpx.Response(200, headers={"content-type": "text/event-stream"},
                                      stream=_CutShort(sse(events[:2]), hang=self.generator_stalls_mid_stream))
            response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=sse(events))
            delay_s = self.slow_generators.get(request.url.host, 0.0)
            return _later(response, delay_s) if delay_s else response
        return httpx.Response(404, json={"type": "not_found", "title": "t", "status": 404, "detail": path})


    def _collections(self, request: httpx.Request, path: str) -> httpx.Response:
        """The retriever's collection routes, as far as the gateway's access checks need them."""
        parts = path.strip("/").split("/")  # v1, collections|jobs, name, documents, id
        missing = {"type": "collection_not_found", "title": "t", "status": 404, "detail": "no collection"}
        if parts[1] == "jobs":
            if parts[2] not in self.jobs:
                return httpx.Response(404, json={**missing, "type": "job_not_found"})
            return httpx.Response(200, json=self._job(parts[2], self.jobs[parts[2]]))
        if len(parts) == 2:
            if request.method == "POST":
                name = json.loads(request.content)["name"]
                return httpx.Response(201, json=self._info(name))
            return httpx.Response(200, json={"collections": [self._info(n) for n in self.collections]})
        if parts[2] not in self.collections:
            return httpx.Response(404, json=missing)
        if len(parts) == 3:
            return httpx.Response(204) if request.method == "DELETE" else httpx.Response(200, json=self._info(parts[2]))
        job_id = f"{len(self.jobs):032x}"
        self.jobs[job_id] = parts[2]
        self.last_body[path] = {"upload": request.content.decode("latin-1")}
        return httpx.Response(202, json=self._job(job_id, parts[2]))

    @staticmethod
    def _info(name: str) -> dict:
        return {"name": name, "description": "", "documents": 1, "passages": 1, "index_version": f"v-{name}",
                "read_only": name == "demo", "created_at": 0.0}

    @staticmethod
    def _job(job_id: str, collection: str) -> dict:
        return {"id": job_id, "collection": collection, "kind": "ingest", "state": "done", "stage": "done",
                "progress": 1.0, "counts": {"files": 1}, "created_at": 0.0, "updated_at": 0.0}

    def _judge(self, sentence: str, passages: list[dict], quote: dict | None) -> dict:
        supported = "1972" not in sentence and bool(passages)  # as the real guard: no passages, no support
        cited = [int(c) for c in sentence.split("[")[1].split("]")[0].split(",")] if "[" in sentence else []
        trim = self.trims.get(sentence)
        return {"index": 0, "text": sentence, "citations_found": cited, "citations_valid": bool(cited),
                "citations_added": [], "support_score": 0.9 if supported else 0.1, "supported": supported,
                "safe": True, "reasons": [],
                "trimmed": {"text": trim, "citations": [1], "support_score": 0.8} if trim and not supported else None,
                "quote": quote if not supported else None}


class _CutShort(httpx.AsyncByteStream):
    """A stream that sends its first events, then, as a generator failing mid-answer would, breaks
    off (the peer closed the connection) or, with `hang`, stops sending."""

    def __init__(self, head: bytes, hang: bool) -> None:
        self.head = head
        self.hang = hang

    async def __aiter__(self):  # noqa: ANN204
        yield self.head
        if self.hang:
            await asyncio.sleep(30)
            return
        await asyncio.sleep(0)
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


async def _later(response: httpx.Response, delay_s: float) -> httpx.Response:
    await asyncio.sleep(delay_s)
    return response


@pytest.fixture
def script() -> Script:
    return Script()


def make_client(script: Script, redis_url: str, **overrides) -> TestClient:
    """A gateway over the scripted upstreams, on an empty Redis (no answers cached by earlier tests)."""
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).flushdb()
    except redis.ConnectionError:
        pass  # a test of a gateway whose Redis is down
    transport = httpx.MockTransport(script.handle)
    settings = GatewaySettings(redis_url=redis_url, **overrides)
    upstreams = Upstreams(*(ServiceClient("gateway", name, f"http://{name}", timeout_s=5, attempts=2, transport=transport)
                            for name in ("retriever", "generator", "guard")), transport=transport)
    return TestClient(create_app(settings, upstreams))


@pytest.fixture
def gateway(script, redis_url):
    with make_client(script, redis_url) as client:
        yield client


@pytest.fixture
def api_key(gateway) -> str:
    key, _ = gateway.portal.call(gateway.app.state.gatekeeper.keys.create, "tests", 1000)
    return key


def scoped_key(gateway: TestClient, read: tuple[str, ...] = (), write: tuple[str, ...] = (), admin: bool = False) -> str:
    key, _ = gateway.portal.call(gateway.app.state.gatekeeper.keys.create, "scoped", 1000, read, write, admin)
    return key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def read_events(response: httpx.Response) -> list[tuple[str, dict]]:
    return sse_events(response.iter_lines())
