"""Distant-supervision targets: copied, short, cited; linear in the passage text."""

from __future__ import annotations

from ninjarag.finetune import targets
from tests.helpers import adversarial_texts, worst_time_s

MOBY = ("Moby-Dick; or, The Whale is an 1851 novel by American writer Herman Melville. "
        "The book is the sailor Ishmael's narrative of the obsessive quest of Ahab.")


def test_answer_sentence_copies_the_passage_sentence_that_holds_the_answer():
    found = targets.answer_sentence(["Whales are large.", MOBY], ["Herman Melville"], "who wrote the novel moby dick",
                                    max_words=40)
    assert found == (2, "Moby-Dick; or, The Whale is an 1851 novel by American writer Herman Melville.")
    assert targets.cited(found[1], found[0]).endswith("Herman Melville [2].")


def test_no_answer_sentence_when_no_passage_holds_an_accepted_answer():
    assert targets.answer_sentence([MOBY], ["Jules Verne"], "who wrote moby dick", max_words=40) is None


def test_an_answer_in_a_sentence_unrelated_to_the_question_is_a_coincidence_not_a_target():
    passages = ["England then beat both France and Mexico 2--0 and reached the quarter-finals.",
                "England has never won the Cricket World Cup, losing the final three times."]
    assert targets.answer_sentence(passages, ["0"], "how many times has england won the cricket world cup", 40) is None
    found = targets.answer_sentence(passages, ["never"], "how many times has england won the cricket world cup", 40)
    assert found == (2, passages[1])


def test_a_long_sentence_is_cut_after_the_clause_holding_the_answer():
    long = "Paris, " + "a large old city with many bridges and museums and parks, " * 5 + "is in France."
    assert targets.shorten(long, "Paris", max_words=10) == "Paris"
    sentence = "The capital is Paris, which has " + "many " * 50 + "bridges."
    assert targets.shorten(sentence, "Paris", max_words=10) == "The capital is Paris"
    assert targets.shorten("word " * 60 + "Paris", "Paris", max_words=10) is None


def test_yes_no_answers_start_with_the_label_and_keep_names_capitalised():
    assert targets.yes_no_answer(True, "The derby is open to all players.", 3) == "Yes, the derby is open to all players [3]."
    assert targets.yes_no_answer(False, "Hamilton hit 28 home runs.", 1) == "No, Hamilton hit 28 home runs [1]."


def test_overlap_and_span_sentences():
    assert targets.overlap_sentence(MOBY, "who is the narrator ishmael of the book", 40).startswith("The book is")
    assert targets.sentence_holding(MOBY, "the sailor Ishmael's narrative", 40).startswith("The book is")
    assert targets.sentence_holding(MOBY, "short", 40) is None


def test_span_targets_state_only_the_answer_as_the_passage_spells_it():
    sentence = "Moby-Dick; or, The Whale is an 1851 novel by American writer Herman Melville."
    assert targets.cited(targets.answer_span(sentence, "herman melville"), 2) == "Herman Melville [2]."
    # Normalisation found it but the spelling differs (an article): the accepted answer as given.
    assert targets.answer_span("It was the U.S. Navy.", "US Navy") == "US Navy"
    assert targets.matched_answer(sentence, ["Jules Verne", "Herman Melville"]) == "Herman Melville"
    # QuAC's answer line: the possible answers joined by ", " (and an answer may hold a comma).
    line = "Moby-Dick; or, The Whale is an 1851 novel, the sailor Ishmael's narrative, an 1851 novel"
    assert targets.span_in(MOBY, line, 40) == "Moby-Dick; or, The Whale is an 1851 novel"
    assert targets.span_in(MOBY, line, 3) == "Moby-Dick; or"  # the longest cut within the recipe's words
    assert targets.span_in(MOBY, "a span the packed passage no longer holds", 40) is None


def test_target_builders_are_linear_in_the_passage_length():
    def run(text: str) -> None:
        targets.answer_sentence([text], ["needle in the hay"], "where is the needle", max_words=40)
        targets.overlap_sentence(text, "where is the needle", 40)
        targets.sentence_holding(text, "needle in the haystack", 40)
        targets.span_in(text, ", ".join(["needle in the haystack"] * 100), 40)
        targets.answer_span(text, "needle in the haystack")

    small, _ = worst_time_s(run, adversarial_texts(10_000), repeats=1)
    large, which = worst_time_s(run, adversarial_texts(100_000), repeats=1)
    # Ten times the text: at most about ten times the time (25x leaves room for noise), never seconds.
    assert large < max(0.25, small * 25), (small, large, which)
