"""The generator's routes over its serving class, with a scripted engine in place of vLLM: readiness,
the admission permit's whole life, and both response shapes."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from services.generator.app import create_app
from services.generator.engine import Delta, Sampling
from services.generator.settings import GeneratorSettings
from tests.helpers import wait_until_ready


class ScriptedEngine:
    model_name = "scripted"

    def __init__(self) -> None:
        self.hold_start = False

    async def start(self) -> None:
        while self.hold_start:
            await asyncio.sleep(0.01)

    async def stream(self, request_id: str, prompt_token_ids: list[int], sampling: Sampling):
        for n, word in enumerate(["Paris ", "is ", "in ", "France [1]."][: sampling.max_tokens], start=1):
            yield Delta(word, n, "stop" if n == sampling.max_tokens or word.endswith(".") else None)

    def unfinished_requests(self) -> int:
        return 0

    async def shutdown(self) -> None:
        pass


def client_for(engine: ScriptedEngine, home, **settings) -> TestClient:  # noqa: ANN001
    return TestClient(create_app(GeneratorSettings(model_path=home.small_model, **settings), engine))


REQUEST = {"question": "Where is Paris?", "passages": [{"id": "p", "title": "Paris", "text": "Paris is in France."}],
           "max_tokens": 8}


def test_not_ready_until_the_engine_answered_then_model_info(home):
    engine = ScriptedEngine()
    engine.hold_start = True
    with client_for(engine, home) as client:
        waiting = client.post("/v1/generate", json=REQUEST)
        assert waiting.status_code == 503 and waiting.json()["type"] == "not_ready"
        assert "engine: pending" in waiting.json()["detail"]
        engine.hold_start = False
        assert wait_until_ready(client)["ready"]
        info = client.get("/v1/model").json()
        assert info == {"model": "scripted", "max_model_len": 2048, "prompt_template": "rag-v1"}


@pytest.mark.parametrize("stream", [True, False])
def test_the_permit_is_given_back_when_the_response_ends(home, stream):
    with client_for(ScriptedEngine(), home) as client:
        assert wait_until_ready(client)["ready"]
        response = client.post("/v1/generate", json={**REQUEST, "stream": stream})
        assert response.status_code == 200
        if stream:
            data = [json.loads(line[5:]) for line in response.text.splitlines() if line.startswith("data:")]
            assert "".join(d.get("text", "") for d in data[:-1]) == "Paris is in France [1]."
            assert data[-1]["event"] == "done"
        else:
            assert response.json()["text"] == "Paris is in France [1]."
        assert client.app.state.generator.admission.in_flight == 0


def test_beyond_the_admission_limit_is_503_with_retry_after(home):
    with client_for(ScriptedEngine(), home, max_num_seqs=1, max_queued=0) as client:
        assert wait_until_ready(client)["ready"]
        busy = client.app.state.generator.admission.acquire()
        refused = client.post("/v1/generate", json=REQUEST)
        assert refused.status_code == 503 and refused.json()["type"] == "overloaded"
        assert refused.headers["retry-after"] == "2"
        busy.release()
        assert client.post("/v1/generate", json={**REQUEST, "stream": False}).status_code == 200
