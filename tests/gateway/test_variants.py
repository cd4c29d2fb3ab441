"""Generator variants behind one gateway: callers stick to a variant by key (or header), `model` names
one, the cache keeps them apart, a shadow answers a copy after the live answer and both are recorded
for the report; the shadow's answer is never shown."""

from __future__ import annotations

import json
import time

import pytest
from pydantic import ValidationError

from services.gateway.settings import GatewaySettings
from tests.gateway.conftest import auth, make_client, read_events, scoped_key

QUESTION = "When did Apollo 11 land?"
VARIANTS = [{"name": "base", "generator_url": "http://base", "weight": 1},
            {"name": "tuned", "generator_url": "http://tuned", "weight": 1}]


@pytest.fixture
def varied(script, redis_url):
    with make_client(script, redis_url, variants=VARIANTS) as client:
        yield client


def answered_by(client, key: str, **extra) -> str:
    events = read_events(client.post("/v1/answer", headers={**auth(key), **extra.pop("headers", {})},
                                     json={"question": QUESTION, **extra}))
    return events[-1][1]["variant"]


def test_each_key_sticks_to_one_variant_and_keys_spread_over_both(varied, script):
    keys = [scoped_key(varied, read=("demo",)) for _ in range(12)]
    first = {key: answered_by(varied, key) for key in keys}
    assert {answered_by(varied, key, headers={"Cache-Control": "no-cache"}) for key in keys[:4]} <= set(first.values())
    assert all(answered_by(varied, key) == variant for key, variant in first.items())
    assert set(first.values()) == {"base", "tuned"}
    assert set(script.generated_by) == {"base", "tuned"}


def test_a_sticky_header_overrides_the_key_and_model_names_a_variant(varied, script):
    key = scoped_key(varied, read=("demo",))
    by_header = {answered_by(varied, key, headers={"X-Ninjarag-Sticky": f"user-{n}"}) for n in range(12)}
    assert by_header == {"base", "tuned"}
    assert answered_by(varied, key, model="tuned") == "tuned"
    assert answered_by(varied, key, model="base") == "base"
    missing = varied.post("/v1/answer", headers=auth(key), json={"question": QUESTION, "model": "gpt-9"})
    assert missing.status_code == 404 and missing.json()["type"] == "model_not_found"


def test_the_cache_keeps_variants_apart(varied, script):
    key = scoped_key(varied, read=("demo",))
    for model in ("base", "tuned", "base", "tuned"):
        answered_by(varied, key, model=model)
    assert script.generated_by == ["base", "tuned"]  # the repeats were cache hits, each of its own variant


def test_models_lists_the_live_variants_in_openai_format(varied):
    key = scoped_key(varied, read=("demo",))
    listed = varied.get("/v1/models", headers=auth(key)).json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == ["ninjarag", "base", "tuned"]
    chat = varied.post("/v1/chat/completions", headers=auth(key),
                       json={"model": "tuned", "messages": [{"role": "user", "content": QUESTION}]})
    assert chat.status_code == 200 and chat.json()["model"] == "tuned"


def test_a_shadow_answers_a_copy_that_is_recorded_and_never_shown(script, redis_url):
    variants = [VARIANTS[0], {"name": "candidate", "generator_url": "http://candidate", "weight": 0,
                              "shadow": True, "sample": 1.0}]
    with make_client(script, redis_url, variants=variants) as client:
        key = scoped_key(client, read=("demo",))
        events = read_events(client.post("/v1/answer", headers=auth(key), json={"question": QUESTION}))
        assert events[-1][1]["variant"] == "base"
        deadline = time.monotonic() + 10
        while script.generated_by != ["base", "candidate"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert script.generated_by == ["base", "candidate"]  # the copy ran after the live answer
        assert [m["id"] for m in client.get("/v1/models", headers=auth(key)).json()["data"]] == ["ninjarag", "base"]
        shadow_only = client.post("/v1/answer", headers=auth(key), json={"question": QUESTION, "model": "candidate"})
        assert shadow_only.status_code == 404
        refused = client.get("/v1/variants/report", headers=auth(key))
        assert refused.status_code == 403
        admin = scoped_key(client, admin=True)
        while time.monotonic() < deadline:
            report = client.get("/v1/variants/report", headers=auth(admin)).json()
            if report["shadow_pairs"]:
                break
            time.sleep(0.05)
    by_role = {(v["variant"], v["role"]): v for v in report["variants"]}
    assert set(by_role) == {("base", "live"), ("candidate", "shadow")} and report["shadow_pairs"] == 1
    live = by_role[("base", "live")]
    assert live["answers"] == 1 and live["refused"] == {"mean": 0.0, "low": 0.0, "high": pytest.approx(0.7935, abs=1e-3)}
    assert live["completion_tokens"]["mean"] == 30


@pytest.mark.parametrize("variants, problem", [
    ([{"name": "a", "generator_url": "http://a", "weight": 1, "shadow": True}], "takes no callers"),
    ([{"name": "a", "generator_url": "http://a"}, {"name": "a", "generator_url": "http://b"}], "unique"),
    ([{"name": "a", "generator_url": "http://a", "weight": 0}], "weight above 0"),
    ([{"name": "ninjarag", "generator_url": "http://a"}], "names the routing itself"),
])
def test_variant_settings_that_make_no_sense_are_refused(variants, problem, monkeypatch):
    monkeypatch.setenv("GATEWAY_VARIANTS", json.dumps(variants))
    with pytest.raises(ValidationError, match=problem):
        GatewaySettings()


def test_variants_interval_maths():
    from services.gateway.variant_records import mean_interval, wilson_interval

    assert wilson_interval(0, 0) is None and mean_interval([]) is None
    assert wilson_interval(50, 100).low == pytest.approx(0.4038, abs=1e-3)  # Wilson, 95%
    interval = mean_interval([10.0, 12.0, 14.0, 16.0])
    assert interval.mean == 13.0 and interval.low == pytest.approx(13 - 1.96 * 2.582 / 2, abs=1e-2)


def shadow_outcomes(client) -> dict[str, float]:
    return {line.split('outcome="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
            for line in client.get("/metrics").text.splitlines() if line.startswith("ninjarag_shadow_copies_total{")}


def test_a_shadow_copy_yields_to_a_live_answer(script, redis_url):
    script.slow_generators["candidate"] = 3.0  # the copy is still generating when the next question comes
    variants = [VARIANTS[0], {"name": "candidate", "generator_url": "http://candidate", "weight": 0,
                              "shadow": True, "sample": 1.0}]
    with make_client(script, redis_url, variants=variants) as client:
        key = scoped_key(client, read=("demo",))
        before = shadow_outcomes(client).get("preempted", 0.0)
        read_events(client.post("/v1/answer", headers=auth(key), json={"question": QUESTION}))
        deadline = time.monotonic() + 5
        while "candidate" not in script.generated_by and time.monotonic() < deadline:
            time.sleep(0.02)
        assert "candidate" in script.generated_by  # the copy started once no live answer was in progress
        started = time.perf_counter()
        events = read_events(client.post("/v1/answer", headers={**auth(key), "Cache-Control": "no-cache"},
                                         json={"question": QUESTION}))
        assert events[-1][1]["variant"] == "base" and time.perf_counter() - started < 2.0
        while shadow_outcomes(client).get("preempted", 0.0) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert shadow_outcomes(client)["preempted"] == before + 1
