"""POST /v1/answer: the event sequences, auth, limits, cache and failures."""

import subprocess

import pytest

from tests.gateway.conftest import SUPPORTED, UNSUPPORTED, auth, make_client, read_events

QUESTION = {"question": "When did Apollo 11 land?", "top_k": 2}


def stream(gateway, key, body=QUESTION):
    with gateway.stream("POST", "/v1/answer", json=body, headers=auth(key)) as response:
        assert response.status_code == 200, response.read()
        return read_events(response)


def kinds(events):
    return [name for name, _ in events]


def test_a_normal_answer_streams_sources_sentences_citations_done(gateway, api_key):
    events = stream(gateway, api_key)
    assert kinds(events) == ["sources", "sentence", "sentence", "citations", "done"]
    sources = events[0][1]["sources"]
    assert [(s["n"], s["id"]) for s in sources] == [(1, "apollo"), (2, "paris")]
    assert [e[1]["text"] for e in events[1:3]] == [SUPPORTED, "Paris is the capital of France [2]."]
    assert [e[1]["citations"] for e in events[1:3]] == [[1], [2]]
    assert [c["id"] for c in events[3][1]["citations"]] == ["apollo", "paris"]
    done = events[-1][1]
    assert done["verdict"] == "ok" and done["cache_hit"] is False
    assert done["tokens"] == {"prompt": 120, "completion": 30}
    assert {"input_guard", "retrieve", "screen", "generate", "output_guard", "first_sentence", "total"} <= set(done["timings_ms"])


def test_an_unsupported_sentence_is_dropped_and_the_answer_is_partial(gateway, api_key, script):
    script.answer = f"{SUPPORTED} {UNSUPPORTED}"
    events = stream(gateway, api_key)
    assert kinds(events) == ["sources", "sentence", "citations", "done"]
    assert events[1][1]["text"] == SUPPORTED
    assert events[-1][1]["verdict"] == "partial" and events[-1][1]["dropped"] == 1


def test_nothing_supported_is_refused_with_the_refusal_text(gateway, api_key, script):
    script.answer = UNSUPPORTED
    events = stream(gateway, api_key)
    assert kinds(events) == ["sources", "sentence", "citations", "done"]
    assert events[1][1]["text"] == "I could not find this in the sources."
    assert events[-1][1]["verdict"] == "refuse"


def test_a_refused_question_never_reaches_retrieval(gateway, api_key, script):
    script.question_allowed = False
    events = stream(gateway, api_key)
    assert kinds(events) == ["sources", "sentence", "citations", "done"]
    assert events[0][1]["sources"] == [] and events[-1][1]["verdict"] == "refuse"
    assert "/v1/search" not in script.calls and "/v1/generate" not in script.calls


def test_flagged_passages_are_not_shown_to_the_model(gateway, api_key, script):
    script.flagged_passages = ["paris"]
    script.answer = SUPPORTED
    events = stream(gateway, api_key)
    assert [s["id"] for s in events[0][1]["sources"]] == ["apollo"]


def test_a_cache_hit_replays_the_same_events_at_once(gateway, api_key, script):
    first = stream(gateway, api_key)
    again = stream(gateway, api_key, {**QUESTION, "question": "  when did APOLLO   11 land? "})
    assert script.calls["/v1/generate"] == 1
    assert script.calls["/v1/guard/input"] == 2  # a different text is checked again
    stream(gateway, api_key)
    assert script.calls["/v1/guard/input"] == 2  # the exact same question reuses its verdict
    assert kinds(again) == kinds(first)
    assert [e[1] for e in again[:-1]] == [e[1] for e in first[:-1]]
    assert again[-1][1]["cache_hit"] is True and again[-1][1]["verdict"] == "ok"


@pytest.mark.parametrize("mode", ["plaid", "bm25", "hybrid"])
def test_the_request_picks_the_retrieval_mode(gateway, api_key, script, mode):
    stream(gateway, api_key, {**QUESTION, "retrieval": mode})
    assert script.last_body["/v1/search"]["mode"] == mode


def test_no_retrieval_answers_closed_book_and_the_guard_refuses_what_nothing_supports(gateway, api_key, script):
    events = stream(gateway, api_key, {**QUESTION, "retrieval": "none"})
    assert "/v1/search" not in script.calls and script.last_body["/v1/generate"]["passages"] == []
    assert events[0][1]["sources"] == [] and events[-1][1]["verdict"] == "refuse"


def test_guard_off_is_forbidden_unless_the_gateway_allows_it(gateway, api_key, script):
    response = gateway.post("/v1/answer", json={**QUESTION, "guard": False}, headers=auth(api_key))
    assert response.status_code == 403 and response.json()["type"] == "forbidden"
    assert "GATEWAY_ALLOW_UNGUARDED" in response.json()["detail"] and "/v1/generate" not in script.calls


def test_per_sentence_checks_name_the_screened_passages_instead_of_resending_them(gateway, api_key, script):
    events = stream(gateway, api_key)
    body = script.last_body["/v1/guard/output"]
    assert body["passage_set"] in script.passage_sets and body["passages"] == []
    assert kinds(events) == ["sources", "sentence", "sentence", "citations", "done"]


def test_a_guard_that_no_longer_holds_the_passages_gets_them_resent(gateway, api_key, script):
    script.guard_forgets_passage_sets = True
    events = stream(gateway, api_key)
    assert kinds(events) == ["sources", "sentence", "sentence", "citations", "done"]
    assert [p["id"] for p in script.last_body["/v1/guard/output"]["passages"]] == ["apollo", "paris"]
    # One miss, then the passages for the rest of the answer: 2 sentences, 3 calls.
    assert script.calls["/v1/guard/output"] == 3


def test_guard_off_releases_every_sentence_unchecked(script, redis_url):
    script.answer = f"{SUPPORTED} {UNSUPPORTED} See [7]."
    with make_client(script, redis_url, allow_unguarded=True) as client:
        key, _ = client.portal.call(client.app.state.gatekeeper.keys.create, "tests", 1000)
        events = stream(client, key, {**QUESTION, "guard": False})
        guarded = stream(client, key, QUESTION)
    assert [e[1]["text"] for e in events if e[0] == "sentence"] == [SUPPORTED, UNSUPPORTED, "See [7]."]
    assert [e[1]["citations"] for e in events if e[0] == "sentence"] == [[1], [1], []]  # [7] does not exist
    assert events[-1][1]["verdict"] == "ok" and events[-1][1]["dropped"] == 0
    assert script.calls["/v1/guard/input"] == 1 and script.calls["/v1/guard/output"] == 3  # the guarded one only
    # Guarded and unguarded answers are cached apart.
    assert guarded[-1][1]["cache_hit"] is False and guarded[-1][1]["dropped"] == 1


def test_cache_control_no_cache_answers_afresh(gateway, api_key, script):
    stream(gateway, api_key)
    with gateway.stream("POST", "/v1/answer", json=QUESTION,
                        headers={**auth(api_key), "Cache-Control": "no-cache"}) as response:
        fresh = read_events(response)
    assert fresh[-1][1]["cache_hit"] is False and script.calls["/v1/generate"] == 2
    assert stream(gateway, api_key)[-1][1]["cache_hit"] is True


def test_json_form_carries_the_same_content(gateway, api_key):
    body = gateway.post("/v1/answer", json={**QUESTION, "stream": False}, headers=auth(api_key)).json()
    assert body["answer"] == f"{SUPPORTED} Paris is the capital of France [2]."
    assert body["verdict"] == "ok" and [c["n"] for c in body["citations"]] == [1, 2]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_missing_or_unknown_keys_get_401(gateway, headers):
    response = gateway.post("/v1/answer", json=QUESTION, headers=headers)
    assert response.status_code == 401 and response.json()["type"] == "unauthorized"
    assert gateway.get("/healthz").status_code == 200 and gateway.get("/metrics").status_code == 200


def test_a_revoked_key_gets_401(gateway, api_key):
    key_id = gateway.portal.call(gateway.app.state.gatekeeper.keys.lookup, api_key).key_id
    gateway.portal.call(gateway.app.state.gatekeeper.keys.revoke, key_id)
    response = gateway.post("/v1/answer", json=QUESTION, headers=auth(api_key))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_the_rate_limit_answers_429_with_retry_after(gateway):
    key, _ = gateway.portal.call(gateway.app.state.gatekeeper.keys.create, "slow", 2)
    statuses = [gateway.post("/v1/answer", json={**QUESTION, "stream": False}, headers=auth(key)).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = gateway.post("/v1/answer", json=QUESTION, headers=auth(key))
    assert limited.json()["type"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1


def test_beyond_the_concurrency_limit_is_503(script, redis_url):
    with make_client(script, redis_url, max_concurrent=1) as client:
        key, _ = client.portal.call(client.app.state.gatekeeper.keys.create, "busy", 1000)
        busy = client.app.state.gatekeeper.answers.acquire()  # one answer in progress
        response = client.post("/v1/answer", json=QUESTION, headers=auth(key))
        assert response.status_code == 503 and response.json()["type"] == "overloaded"
        assert response.headers["retry-after"] == "1"
        busy.release()
        assert client.post("/v1/answer", json={**QUESTION, "stream": False}, headers=auth(key)).status_code == 200


@pytest.mark.parametrize("body", [{"question": ""}, {"question": "q", "top_k": 0}, {"question": "x" * 3000},
                                  {"question": "q", "max_tokens": 0}, {"questions": "q"}])
def test_bad_input_is_422(gateway, api_key, body):
    response = gateway.post("/v1/answer", json=body, headers=auth(api_key))
    assert response.status_code == 422 and response.json()["type"] == "invalid_request"


def test_a_generator_dying_mid_stream_ends_in_one_error_event_and_the_next_request_works(gateway, api_key, script):
    script.generator_fails_mid_stream = True
    events = stream(gateway, api_key)
    assert kinds(events)[0] == "sources" and kinds(events)[-1] == "error"
    assert kinds(events).count("error") == 1 and "done" not in kinds(events)
    assert events[-1][1]["type"] == "upstream_error"
    script.generator_fails_mid_stream = False
    assert kinds(stream(gateway, api_key))[-1] == "done"


def test_a_slow_retriever_is_an_upstream_timeout_and_the_next_request_works(script, redis_url):
    script.retriever_delay_s = 1.0
    with make_client(script, redis_url, search_timeout_s=0.2) as client:
        key, _ = client.portal.call(client.app.state.gatekeeper.keys.create, "tests", 1000)
        events = stream(client, key)
        assert kinds(events) == ["error"] and events[0][1]["type"] == "upstream_timeout"
        assert "retrieve took longer than 0.2 s" in events[0][1]["message"]
        script.retriever_delay_s = 0.0
        assert kinds(stream(client, key))[-1] == "done"


def test_a_generator_hanging_mid_stream_ends_at_the_request_deadline(script, redis_url):
    script.generator_stalls_mid_stream = True
    with make_client(script, redis_url, request_deadline_s=1.0) as client:
        key, _ = client.portal.call(client.app.state.gatekeeper.keys.create, "tests", 1000)
        events = stream(client, key)
        assert kinds(events)[0] == "sources" and kinds(events)[-1] == "error" and "done" not in kinds(events)
        assert events[-1][1] == {"event": "error", "type": "deadline_exceeded", "message": "no answer within 1 s; try again"}
        script.generator_stalls_mid_stream = False
        assert kinds(stream(client, key))[-1] == "done"


def test_a_failing_retriever_is_retried_then_reported(gateway, api_key, script):
    script.retriever_status = 503
    events = stream(gateway, api_key)
    assert kinds(events) == ["error"] and events[0][1]["type"] == "upstream_error"
    assert script.calls["/v1/search"] == 2  # idempotent: retried once (attempts=2)
    body = gateway.post("/v1/answer", json={**QUESTION, "stream": False}, headers=auth(api_key))
    assert body.status_code == 502 and body.json()["type"] == "upstream_error"


def test_redis_stopped_mid_test_keeps_answering_without_the_cache(script, tmp_path):
    from tests.conftest import free_port

    port = free_port()
    server = subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL)
    try:
        import time

        time.sleep(0.3)
        with make_client(script, f"redis://127.0.0.1:{port}/0") as client:
            key, _ = client.portal.call(client.app.state.gatekeeper.keys.create, "k", 1000)
            assert kinds(stream(client, key))[-1] == "done"
            server.terminate()
            server.wait()
            events = stream(client, key)  # the key was verified before: still honoured
            assert kinds(events)[-1] == "done" and events[-1][1]["cache_hit"] is False
            metrics = client.get("/metrics").text
            assert 'ninjarag_gateway_redis_errors_total{use="cache"}' in metrics
            unknown = client.post("/v1/answer", json=QUESTION, headers=auth("nr_never_seen"))
            assert unknown.status_code == 503 and unknown.json()["type"] == "auth_unavailable"
    finally:
        server.kill()


def test_openai_chat_completions(gateway, api_key):
    body = {"model": "ninjarag", "messages": [{"role": "system", "content": "be brief"},
                                              {"role": "user", "content": "When did Apollo 11 land?"}]}
    plain = gateway.post("/v1/chat/completions", json=body, headers=auth(api_key)).json()
    assert plain["object"] == "chat.completion"
    assert plain["choices"][0]["message"]["content"].startswith(SUPPORTED)
    assert [c["id"] for c in plain["citations"]] == ["apollo", "paris"]
    with gateway.stream("POST", "/v1/chat/completions", json={**body, "stream": True}, headers=auth(api_key)) as response:
        data = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    import json

    chunks = [json.loads(d) for d in data[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and len(chunks[-1]["citations"]) == 2
    no_user = gateway.post("/v1/chat/completions", json={"messages": [{"role": "system", "content": "x"}]},
                           headers=auth(api_key))
    assert no_user.status_code == 422 and "no user message" in no_user.json()["detail"]


def test_openai_model_list_names_what_chat_completions_serves(gateway, api_key):
    listed = gateway.get("/v1/models", headers=auth(api_key))
    assert listed.status_code == 200
    body = listed.json()
    assert body["object"] == "list" and [m["id"] for m in body["data"]] == ["ninjarag"]
    assert body["data"][0]["object"] == "model" and body["data"][0]["created"] > 0
    one = gateway.get("/v1/models/ninjarag", headers=auth(api_key))
    assert one.status_code == 200 and one.json() == body["data"][0]
    missing = gateway.get("/v1/models/gpt-4", headers=auth(api_key))
    assert missing.status_code == 404 and missing.json()["type"].endswith("not_found")
    assert "GET /v1/models" in missing.json()["detail"]
    assert gateway.get("/v1/models").status_code == 401
