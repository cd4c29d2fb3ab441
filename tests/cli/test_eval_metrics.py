"""The answer metrics on hand-made cases with known values."""

import pytest

from ninjarag.eval.metrics import accuracy, exact_match, recall_at, token_f1


@pytest.mark.parametrize(
    ("answer", "accepted", "acc", "em", "f1"),
    [
        ("The Beatles.", ["Beatles"], 1.0, 1.0, 1.0),  # articles and punctuation removed
        ("It was sung by Meghan Trainor in 2014.", ["Meghan Trainor"], 1.0, 0.0, 2 * (2 / 8) * 1.0 / (2 / 8 + 1.0)),
        ("Albuquerque, New Mexico", ["Santa Fe", "albuquerque new mexico"], 1.0, 1.0, 1.0),  # several accepted
        ("Trainor", ["Meghan Trainor"], 0.0, 0.0, 2 * 1.0 * 0.5 / 1.5),
        ("", ["Paris"], 0.0, 0.0, 0.0),  # empty answer
        ("I could not find this in the sources.", ["Paris"], 0.0, 0.0, 0.0),  # a refusal
        ("ninety-nine", ["nine"], 1.0, 0.0, 2 / 3),  # "ninety nine" contains the word "nine"
        ("Café Tacuba", ["cafe tacuba"], 0.0, 0.0, 0.5),  # accents are kept: "é" is not "e"
    ],
)
def test_answer_metrics(answer, accepted, acc, em, f1):
    assert accuracy(answer, accepted) == acc
    assert exact_match(answer, accepted) == em
    assert token_f1(answer, accepted) == pytest.approx(f1)


def test_recall_at_k_looks_only_at_the_top_k():
    passages = ["Rome is in Italy.", "Paris is the capital of France.", "Berlin."]
    assert recall_at(passages, ["Paris"], 1) == 0.0
    assert recall_at(passages, ["Paris"], 2) == 1.0
    assert recall_at(passages, ["Madrid", "Berlin"], 5) == 1.0
    assert recall_at([], ["Paris"], 10) == 0.0
