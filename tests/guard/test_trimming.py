"""The correction ladder's text work on model sentences: which shorter versions the guard scores,
and which passage sentences it may quote."""

import pytest

from services.guard.quotes import _quotable, answer_kind, holds_kind
from services.guard.trimming import trim_candidates


@pytest.mark.parametrize(("sentence", "expected"), [
    ("Herman Melville, an American novelist born in 1819, wrote Moby-Dick in 1851 [1].",
     ["Herman Melville wrote Moby-Dick in 1851"]),
    ("The Eiffel Tower is in Paris, which is the capital of Germany [2].", ["The Eiffel Tower is in Paris"]),
    ("Apollo 11 landed in 1969 and it was commanded by Yuri Gagarin [1].", ["Apollo 11 landed in 1969"]),
    ("The film (released in 2004) was directed by Nolan [3].", ["The film was directed by Nolan"]),
    # A clause between commas is cut at its comma, not removed: that would leave "Valley California".
    ("The valley refers to the San Fernando Valley, which is part of the San Gabriel Valley region, California.",
     ["The valley refers to the San Fernando Valley"]),
    ("Yes [1].", []),
])
def test_trim_candidates_cut_clauses_and_asides(sentence, expected):
    assert trim_candidates(sentence) == expected


@pytest.mark.parametrize(("sentence", "quotable"), [
    ("Apollo 11 landed on the Moon in 1969.", True),
    ("1969 was the year it landed on the Moon.", True),
    ("344-345), Graham McCann says the anarchic spirit of the show inspired others.", False),  # a tail
    ("and then it landed on the Moon.", False),
    ("It landed.", False),
])
def test_only_whole_passage_sentences_are_quoted(sentence, quotable):
    assert _quotable(sentence) is quotable


def test_the_kind_of_answer_a_question_asks_for():
    assert answer_kind("When did Apollo 11 land?") == "number" and answer_kind("how many moons") == "number"
    assert answer_kind("Who wrote Moby-Dick?") == "name" and answer_kind("What is C++?") is None
    assert holds_kind("Armstrong and Aldrin landed in 1969.", "number", "When did Apollo 11 land?")
    assert not holds_kind("Apollo 11 landed on the Moon.", "number", "When did Apollo 11 land?")
    assert holds_kind("It was written by Herman Melville.", "name", "Who wrote Moby-Dick?")
