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
