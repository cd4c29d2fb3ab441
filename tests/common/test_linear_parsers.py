"""Every parser of untrusted text (model output, questions, passages) is linear in its length:
each pattern finishes 100,000 adversarial characters in under 50 ms, and the sentence splitter's
time grows in proportion to the text (one shot and streamed token by token)."""

import re

import pytest

from services.common import sentences
from services.common.contracts import vocabulary
from tests.helpers import ADVERSARIAL_LENGTH, adversarial_texts, worst_time_s

TEXTS = adversarial_texts()
PATTERN_BUDGET_S = 0.050


def _scan_all(pattern: re.Pattern):  # noqa: ANN202
    """Every match in the text (findall: the engine's time, not a Python loop's per match)."""
    return pattern.findall


@pytest.mark.parametrize("name", ["_END", "_CITATION", "_NUMBER_SEPARATOR", "_NON_SPACE"])
def test_sentence_patterns_are_linear(name):
    worst, text = worst_time_s(_scan_all(getattr(sentences, name)), TEXTS)
    assert worst < PATTERN_BUDGET_S, f"sentences.{name} took {worst * 1000:.0f} ms on {text!r}..."


def test_the_contract_pattern_is_linear():
    worst, text = worst_time_s(vocabulary._CONTROL_CHARS.findall, TEXTS)
    assert worst < PATTERN_BUDGET_S, f"{vocabulary._CONTROL_CHARS.pattern} took {worst * 1000:.0f} ms on {text!r}..."


def _streamed(text: str) -> list[str]:
    stream = sentences.SentenceStream()
    released = []
    for start in range(0, len(text), 4):  # about one token's worth of text a feed
        released += stream.feed(text[start:start + 4])
    return released + stream.flush()


@pytest.mark.parametrize("split", [sentences.split_sentences, _streamed], ids=["one-shot", "streamed"])
def test_sentence_splitter_is_linear_in_the_answer_length(split):
    half = [text[: ADVERSARIAL_LENGTH // 2] for text in TEXTS]
    worst_half, _ = worst_time_s(split, half, repeats=3)
    worst_full, text = worst_time_s(split, TEXTS, repeats=3)
    # Twice the text, about twice the time (quadratic would be 4x, and the old splitter took minutes);
    # the slack absorbs a busy machine's noise. And a sane absolute bound.
    assert worst_full < 3.0 * worst_half + 0.03, f"{worst_half:.3f} s -> {worst_full:.3f} s on {text!r}..."
    assert worst_full < 1.0, f"{worst_full:.3f} s on {text!r}..."


def test_the_reported_freeze_is_gone():
    """The marker that froze the gateway: '[' then ', ' repeated, never closed, after a full stop."""
    text = "Paris is big. [" + ", " * 40_000 + "] Next."
    worst, _ = worst_time_s(_streamed, [text], repeats=1)
    assert worst < 1.0
    assert sentences.split_sentences(text)[0] == "Paris is big."


def test_a_sentence_without_an_end_is_released_in_bounded_pieces():
    stream = sentences.SentenceStream()
    released = stream.feed("word " * 1_000)  # 5,000 characters, no full stop
    assert released and all(len(piece) <= sentences.MAX_SENTENCE_CHARS for piece in released)
    rest = stream.flush()
    assert " ".join(released + rest).split() == ["word"] * 1_000


def test_the_repeat_rule_is_linear():
    """The answer policy compares each sentence with those released before it (word sets, no patterns)."""
    worst, text = worst_time_s(lambda t: sentences.repeats(t, [t[::-1]], 0.8), TEXTS, repeats=1)
    assert worst < 10 * PATTERN_BUDGET_S, f"repeats took {worst * 1000:.0f} ms on {text!r}..."
