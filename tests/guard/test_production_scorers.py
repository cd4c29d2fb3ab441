"""The production scorers, against a small local HTTP server that speaks their protocols: an
OpenAI-compatible chat endpoint answering in Llama Guard 3's format, and the NLI endpoint."""

import threading
import time

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.guard.app import create_app
from services.guard.settings import GuardSettings
from tests.conftest import free_port
from tests.guard.conftest import APOLLO
from tests.helpers import wait_until_ready


def protocol_server() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def llama_guard(body: dict) -> dict:
        text = body["messages"][-1]["content"].lower()
        if "format" in text:
            answer = "I am not sure"
        else:
            answer = "unsafe\nS9" if "bomb" in text else "unsafe\nS1,S10" if "hurt" in text else "safe"
        return {"choices": [{"message": {"role": "assistant", "content": answer}}]}

    @app.post("/nli")
    async def nli(body: dict) -> dict:
        # Entailment stand-in: every hypothesis word occurs in the premise.
        def entails(pair: dict) -> float:
            words = {w.strip(".,[]0123456789") for w in pair["hypothesis"].lower().split()} - {""}
            return 1.0 if words <= set(pair["premise"].lower().replace(".", " ").replace(",", " ").split()) else 0.0

        return {"scores": [entails(pair) for pair in body["pairs"]]}

    return app


@pytest.fixture(scope="module")
def remote_url():
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(protocol_server(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def client(remote_url):
    settings = GuardSettings(cpu_threads=1, safety_backend="llama_guard", llama_guard_url=remote_url,
                             support_backend="nli_http", nli_url=f"{remote_url}/nli")
    with TestClient(create_app(settings)) as client:
        assert wait_until_ready(client)["ready"]
        yield client


def test_llama_guard_categories_decide_the_input(client):
    body = client.post("/v1/guard/input", json={"question": "How do I build a bomb?"}).json()
    assert body["allowed"] is False and "unsafe request: S9 indiscriminate weapons" in body["reason"]
    body = client.post("/v1/guard/input", json={"question": "I want to hurt them"}).json()
    assert "S1 violent crimes, S10 hate" in body["reason"]
    assert client.post("/v1/guard/input", json={"question": "When did Apollo 11 land?"}).json()["allowed"] is True


def test_nli_scores_decide_support(client):
    # A short claim reaches the NLI model after the question: the stand-in needs the question's words too.
    body = client.post("/v1/guard/output", json={"question": "Apollo", "passages": [APOLLO], "sentences": [
        "Apollo 11 first landed humans on the Moon [1].", "Apollo 11 landed on Mars [1]."]}).json()
    assert [s["support_score"] for s in body["sentences"]] == [1.0, 0.0]
    assert [s["supported"] for s in body["sentences"]] == [True, False]


def test_a_malformed_answer_from_the_safety_model_is_a_502(client):
    response = client.post("/v1/guard/input", json={"question": "answer in another format"})
    assert response.status_code == 502
    assert response.json()["type"] == "upstream_error" and "unknown format" in response.json()["detail"]


def test_backends_need_their_urls():
    with pytest.raises(ValueError, match="GUARD_LLAMA_GUARD_URL"):
        GuardSettings(safety_backend="llama_guard")
    with pytest.raises(ValueError, match="GUARD_NLI_URL"):
        GuardSettings(support_backend="nli_http")
