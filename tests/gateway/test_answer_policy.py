"""The answer policy as the gateway applies it (services/gateway/policy.py): keep, trim, quote,
drop repeats, answer extractively, refuse only when no passage is relevant."""

import pytest

from services.gateway.policy import AnswerPolicySettings
from tests.gateway.conftest import SUPPORTED, UNSUPPORTED, auth, make_client, read_events

QUESTION = {"question": "When did Apollo 11 land?", "top_k": 2}
QUOTE = "Apollo 11 landed humans on the Moon in 1969. [1]"


def answer(client, key):
    with client.stream("POST", "/v1/answer", json=QUESTION, headers=auth(key)) as response:
        assert response.status_code == 200, response.read()
        events = read_events(response)
    return [body for name, body in events if name == "sentence"], events[-1][1]


def test_a_supported_trim_is_released_in_place_of_the_sentence(gateway, api_key, script):
    script.answer = UNSUPPORTED
    script.trims = {UNSUPPORTED: "It landed [1]."}
    sentences, done = answer(gateway, api_key)
    assert [(s["text"], s["action"], s["citations"]) for s in sentences] == [("It landed [1].", "trimmed", [1])]
    assert done["verdict"] == "partial" and done["corrected"] == 1 and done["dropped"] == 0


def test_an_unsupported_sentence_is_replaced_by_a_relevant_passage_sentence(gateway, api_key, script):
    script.answer, script.quote_relevance = UNSUPPORTED, 0.9
    sentences, done = answer(gateway, api_key)
    assert [(s["text"], s["action"], s["citations"]) for s in sentences] == [(QUOTE, "quoted", [1])]
    assert done["verdict"] == "partial" and done["corrected"] == 1


def test_a_quote_that_repeats_a_released_sentence_is_dropped(gateway, api_key, script):
    script.answer, script.quote_relevance = f"{SUPPORTED} {UNSUPPORTED}", 0.9
    sentences, done = answer(gateway, api_key)
    assert [s["text"] for s in sentences] == [SUPPORTED]
    assert done["dropped"] == 1 and done["corrected"] == 0


def test_a_sentence_written_twice_is_released_once(gateway, api_key, script):
    script.answer = f"{SUPPORTED} {SUPPORTED} Apollo 11 landed on the Moon in 1969 [1]!"
    sentences, done = answer(gateway, api_key)
    assert [s["text"] for s in sentences] == [SUPPORTED]
    assert done["dropped"] == 2 and done["verdict"] == "partial"


def test_a_sentence_whose_words_an_earlier_one_already_said_is_dropped(gateway, api_key, script):
    longer = "Apollo 11 landed on the Moon in 1969, and Armstrong walked first [1]."
    script.answer = f"{longer} {SUPPORTED}"
    sentences, done = answer(gateway, api_key)
    assert [s["text"] for s in sentences] == [longer] and done["dropped"] == 1


def test_no_quote_is_relevant_enough_so_the_answer_is_refused(gateway, api_key, script):
    script.answer, script.quote_relevance = UNSUPPORTED, 0.29
    sentences, done = answer(gateway, api_key)
    assert [s["text"] for s in sentences] == ["I could not find this in the sources."]
    assert done["verdict"] == "refuse"


def test_a_model_that_writes_nothing_still_gets_the_extractive_answer(gateway, api_key, script):
    script.answer, script.quote_relevance = "", 0.9
    sentences, done = answer(gateway, api_key)
    assert [(s["text"], s["action"]) for s in sentences] == [(QUOTE, "quoted")]
    assert script.last_body["/v1/guard/output"]["sentences"] == []


@pytest.mark.parametrize("trim", [None, "It landed [1]."])
def test_with_corrections_off_the_policy_keeps_or_drops_and_refuses(script, redis_url, trim):
    script.answer, script.quote_relevance = UNSUPPORTED, 0.9
    script.trims = {UNSUPPORTED: trim} if trim else {}
    with make_client(script, redis_url, policy=AnswerPolicySettings(corrections=False)) as client:
        key = client.portal.call(client.app.state.gatekeeper.keys.create, "t", 1000)[0]
        sentences, done = answer(client, key)
    assert [s["text"] for s in sentences] == ["I could not find this in the sources."] and done["verdict"] == "refuse"
    assert script.last_body["/v1/guard/output"]["propose_corrections"] is False  # nothing to propose for


def test_the_policy_is_part_of_the_cache_key():
    assert AnswerPolicySettings().fingerprint() != AnswerPolicySettings(corrections=False).fingerprint()
    assert AnswerPolicySettings().fingerprint() != AnswerPolicySettings(min_relevance=0.5).fingerprint()
