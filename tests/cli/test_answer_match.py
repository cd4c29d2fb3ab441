import pytest

from ninjarag.eval import answer_match
from ninjarag.eval.answer_match import contains_answer, normalize_answer
from tests.helpers import adversarial_texts, worst_time_s


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Beatles!", "beatles"),
        ("  An   apple, a day ", "apple day"),
        ("Café", "cafe\u0301"),
        ("U.S.A.", "u s"),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_contains_answer_on_word_boundaries_with_several_accepted_answers():
    assert contains_answer("It was written by Meghan Trainor in 2014.", ["Trainor, Meghan", "Meghan Trainor"])
    assert contains_answer("The Nine Muses", ["nine"])
    assert contains_answer("ninety-nine", ["nine"])  # punctuation becomes a word boundary
    assert not contains_answer("Albuquerque's festival", ["Albu"])
    assert not contains_answer("anything", [""])
    assert not contains_answer("", ["answer"])


def test_the_normalising_pattern_is_linear():
    """Answers are model output: normalising them is linear in their length."""
    worst, text = worst_time_s(answer_match._ARTICLES.findall, adversarial_texts())
    assert worst < 0.050, f"_ARTICLES took {worst * 1000:.0f} ms on {text!r}..."
