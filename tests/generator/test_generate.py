"""POST /v1/generate against the real vLLM engine with the local model."""

import math
import threading
import time

import httpx
import psutil
import pytest

from tests.generator.conftest import MAX_NUM_SEQS, STREAM_INTERVAL
from tests.helpers import sse_events

PASSAGES = [
    {"id": "kubrick", "title": "2001: A Space Odyssey",
     "text": "2001: A Space Odyssey is a 1968 epic science fiction film produced and directed by Stanley Kubrick."},
    {"id": "paris", "title": "Paris", "text": "Paris is the capital and largest city of France."},
]
REQUEST = {"question": "Who directed 2001: A Space Odyssey?", "passages": PASSAGES, "max_tokens": 40}


def long_request(max_tokens: int) -> dict:
    """A generation that runs until max_tokens or a hang-up. Greedy, the model ends its "essay" after
    70-90 tokens here (about 2 s), and where it stops depends on the CPU's arithmetic; at the hottest
    temperature the contract allows, the end token is no likelier than any other."""
    return {**REQUEST, "question": "Write a very long essay about films.", "max_tokens": max_tokens,
            "temperature": 2.0}


def test_stream_is_tokens_in_order_then_one_done_with_usage(generator_url, home):
    with httpx.stream("POST", f"{generator_url}/v1/generate", json=REQUEST, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.iter_lines())
    kinds = [name for name, _ in events]
    assert kinds[-1] == "done" and kinds.count("done") == 1 and set(kinds[:-1]) == {"token"}
    assert [data["index"] for _, data in events[:-1]] == list(range(len(events) - 1))
    done = events[-1][1]
    usage = done["usage"]
    assert usage["passages_used"] == ["kubrick", "paris"]
    assert 100 < usage["prompt_tokens"] <= usage["bucket"] == 256
    assert usage["padding_waste"] == usage["bucket"] - usage["prompt_tokens"]
    assert 0 < usage["completion_tokens"] <= 40
    assert done["finish_reason"] in {"stop", "length"}
    assert 0 < done["ttft_ms"] <= done["total_ms"]
    assert done["model"] == home.small_model.name  # the served model (GENERATOR_MODEL), named in each answer
    text = "".join(data["text"] for _, data in events[:-1])
    assert "Kubrick" in text
    # The first token alone (time to first token), then up to STREAM_INTERVAL tokens per event.
    assert 1 < len(events) - 1 <= 1 + math.ceil((usage["completion_tokens"] - 1) / STREAM_INTERVAL)


def test_json_form_matches_the_stream_at_temperature_zero(generator_url):
    body = httpx.post(f"{generator_url}/v1/generate", json={**REQUEST, "stream": False}, timeout=60).json()
    with httpx.stream("POST", f"{generator_url}/v1/generate", json=REQUEST, timeout=60) as response:
        streamed = "".join(data["text"] for name, data in sse_events(response.iter_lines()) if name == "token")
    assert body["text"] == streamed
    assert body["usage"]["passages_used"] == ["kubrick", "paris"]


def metric(url: str, name: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def wait_for(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_client_disconnect_aborts_the_generation(generator_url):
    with httpx.stream("POST", f"{generator_url}/v1/generate", json=long_request(1500), timeout=60) as response:
        lines = response.iter_lines()
        while "token" not in next(lines):
            pass
        assert metric(generator_url, "ninjarag_generator_engine_unfinished_requests") == 1
    # Hung up after the first token: the engine drops the request, the admission slot is freed.
    assert wait_for(lambda: metric(generator_url, "ninjarag_generator_engine_unfinished_requests") == 0)
    assert wait_for(lambda: metric(generator_url, "ninjarag_generator_requests_admitted") == 0)


def test_a_json_client_that_hangs_up_aborts_its_generation(generator_url):
    with pytest.raises(httpx.ReadTimeout):  # the client gives up after 2 s, long before 1500 tokens
        httpx.post(f"{generator_url}/v1/generate", json={**long_request(1500), "stream": False}, timeout=2)
    assert wait_for(lambda: metric(generator_url, "ninjarag_generator_engine_unfinished_requests") == 0, 5)
    assert wait_for(lambda: metric(generator_url, "ninjarag_generator_requests_admitted") == 0, 5)


def test_an_idle_engine_leaves_the_cpu_to_the_services_beside_it(generator_server):
    """vLLM's CPU executor in a worker process busy-polls for 1 s after every step (a core taken
    from the retriever and guard on a small machine); the service keeps the model in the engine
    core's own process instead."""
    httpx.post(f"{generator_server.url}/v1/generate", json={**REQUEST, "max_tokens": 4}, timeout=60).raise_for_status()
    server = psutil.Process(generator_server.pid)

    def cpu_seconds() -> float:
        return sum(sum(p.cpu_times()[:2]) for p in [server, *server.children(recursive=True)])

    before = cpu_seconds()
    time.sleep(2)
    assert cpu_seconds() - before < 0.3


def test_admission_limit_answers_503_with_retry_after(generator_url):
    started = threading.Barrier(MAX_NUM_SEQS + 1)
    refused_answered = threading.Event()
    statuses = []

    def hold_a_slot() -> None:
        with httpx.stream("POST", f"{generator_url}/v1/generate", json=long_request(1500), timeout=120) as response:
            statuses.append(response.status_code)
            started.wait()
            refused_answered.wait(timeout=60)  # then hang up, which frees the slot

    threads = [threading.Thread(target=hold_a_slot) for _ in range(MAX_NUM_SEQS)]
    for thread in threads:
        thread.start()
    started.wait(timeout=60)
    refused = httpx.post(f"{generator_url}/v1/generate", json=REQUEST, timeout=30)
    refused_answered.set()
    for thread in threads:
        thread.join()
    assert statuses == [200] * MAX_NUM_SEQS
    assert refused.status_code == 503
    assert refused.json()["type"] == "overloaded"
    assert refused.headers["retry-after"] == "2"
    assert wait_for(lambda: metric(generator_url, "ninjarag_generator_requests_admitted") == 0)
    assert httpx.post(f"{generator_url}/v1/generate", json={**REQUEST, "stream": False}, timeout=60).status_code == 200


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"question": ""}, "question", "at least 1 character"),
        ({"max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
        ({"max_tokens": 5000}, "max_tokens", "less than or equal to 4096"),
        ({"passages": [PASSAGES[0]] * 1000}, "passages", "at most 100 items"),
        ({"temperature": -1}, "temperature", "greater than or equal to 0"),
    ],
)
def test_bad_input_is_a_clear_422(generator_url, change, field, fragment):
    response = httpx.post(f"{generator_url}/v1/generate", json={**REQUEST, **change}, timeout=30)
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "invalid_request"
    assert body["errors"][0]["field"] == field and fragment in body["errors"][0]["message"]


def test_max_tokens_beyond_the_model_limit_says_what_is_allowed(generator_url):
    response = httpx.post(f"{generator_url}/v1/generate", json={**REQUEST, "max_tokens": 4000}, timeout=30)
    assert response.status_code == 422
    assert "serves at most 2048 tokens in all; ask for at most 2032" in response.json()["detail"]


def test_no_passages_is_answered_closed_book(generator_url):
    body = httpx.post(f"{generator_url}/v1/generate",
                      json={**REQUEST, "passages": [], "stream": False}, timeout=60).json()
    assert body["usage"]["passages_used"] == [] and body["usage"]["bucket"] == 128
