"""The toxicity scorer computes alt-profanity-check's own probabilities, faster than the library does."""

import time

import pytest
from profanity_check import predict_prob

from services.guard.hazards import DATA, read_exemplars
from services.guard.injection import read_lines
from services.guard.toxicity import ToxicityScorer
from tests.helpers import adversarial_texts, worst_time_s

TEXTS = (read_lines(DATA / "benign_contrasts.txt")[:100] + [text for _, text in read_exemplars(DATA / "hazard_exemplars.tsv")]
         + ["you are a worthless idiot and I hate you", "shut the fuck up", "", "Paris is the capital of France."])


@pytest.fixture(scope="module")
def scorer():
    scorer = ToxicityScorer()
    scorer.warm_up()
    return scorer


def test_scores_equal_the_library(scorer):
    expected = predict_prob(TEXTS)
    assert [round(scorer.score(text), 9) for text in TEXTS] == [round(float(p), 9) for p in expected]
    assert max(expected) > 0.85 > min(expected)  # the set holds both kinds


def test_faster_than_the_library(scorer):
    def seconds(score) -> float:
        started = time.perf_counter()
        for text in TEXTS:
            score(text)
        return time.perf_counter() - started

    library = min(seconds(lambda text: predict_prob([text])) for _ in range(3))
    ours = min(seconds(scorer.score) for _ in range(3))
    assert ours * 3 < library, f"{ours * 1000:.1f} ms against the library's {library * 1000:.1f} ms"


def test_linear_in_the_text(scorer):
    worst, text = worst_time_s(scorer.score, adversarial_texts())
    assert worst < 0.5, f"{worst * 1000:.0f} ms on {text[:40]!r}..."


def test_refuses_before_warm_up():
    with pytest.raises(RuntimeError, match="warm_up"):
        ToxicityScorer().score("hello")


def test_scores_many_at_once_as_one_by_one(scorer):
    assert scorer.score_many([]) == []
    assert scorer.score_many(TEXTS) == [scorer.score(text) for text in TEXTS]
