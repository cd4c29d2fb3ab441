"""The guard's patterns run on untrusted text (questions, passages, answers): each finishes 100,000
adversarial characters in under 50 ms."""

import pytest

from services.guard import support
from services.guard.injection import PATTERNS
from tests.helpers import adversarial_texts, worst_time_s

TEXTS = adversarial_texts()
PATTERN_BUDGET_S = 0.050
# Every pattern of the guard's own that meets untrusted text.
GUARD_PATTERNS = {f"injection pattern {n}": p for n, p in enumerate(PATTERNS, 1)} | {
    "support._WORD": support._WORD, "support._NUMBER": support._NUMBER,
}
# Openers that make a pattern's own prefix match again and again ("<" then spaces was 12 s).
TEXTS += [(opener + filler * 100_000)[:100_000] for opener in ("<", "<|", "[", "ignore ", "you are now ", "from now on ")
          for filler in (" ", "  /", "a", "\n")]


@pytest.mark.parametrize("name", list(GUARD_PATTERNS))
def test_guard_patterns_are_linear(name):
    pattern = GUARD_PATTERNS[name]
    worst, text = worst_time_s(pattern.findall, TEXTS)
    assert worst < PATTERN_BUDGET_S, f"{name} ({pattern.pattern[:60]}...) took {worst * 1000:.0f} ms on {text!r}..."


# The correction ladder's parsers of model sentences: linear in the sentence, so 100,000 characters
# of clause markers, commas or parentheses cost milliseconds, not a quadratic stall.
CORRECTION_TEXTS = TEXTS + [(filler * 50_000)[:100_000] for filler in ("a, b ", "x, which ", "(a) ", "a and ", "- ")]
CORRECTION_BUDGET_S = 0.5


@pytest.mark.parametrize("name", ["trim_candidates", "answer_kind", "holds_kind"])
def test_correction_parsers_are_linear(name):
    from services.guard.quotes import answer_kind, holds_kind
    from services.guard.trimming import trim_candidates

    function = {"trim_candidates": trim_candidates, "answer_kind": answer_kind,
                "holds_kind": lambda text: holds_kind(text, "name", text[:1000])}[name]
    worst, text = worst_time_s(function, CORRECTION_TEXTS, repeats=1)
    assert worst < CORRECTION_BUDGET_S, f"{name} took {worst * 1000:.0f} ms on {text!r}..."
