"""Prompt-injection / jailbreak detection: a maintained pattern set, plus MiniLM similarity to
known attack prompts (catches rephrasings the patterns miss)."""

from __future__ import annotations

import re
from pathlib import Path

from services.common.sentences import split_sentences
from services.guard.encoder import SentenceEncoder

DATA = Path(__file__).parent / "data"


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


PATTERNS = [re.compile(pattern, re.IGNORECASE | re.DOTALL) for pattern in read_lines(DATA / "injection_patterns.txt")]
ATTACK_PROMPTS = read_lines(DATA / "attack_prompts.txt")


class InjectionDetector:
    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder
        self._attacks = None

    def warm_up(self) -> None:
        self._attacks = self.encoder.encode(ATTACK_PROMPTS)

    def matching_pattern(self, text: str) -> str | None:
        for pattern in PATTERNS:
            match = pattern.search(text)
            if match:
                return match.group(0)[:80]
        return None

    def similarity(self, texts: list[str]) -> list[tuple[float, str]]:
        """Per text: highest cosine similarity to a known attack prompt, and that prompt."""
        if not texts:
            return []
        scores = self.encoder.encode(texts) @ self._attacks.T
        best = scores.max(dim=1)
        return [(float(value), ATTACK_PROMPTS[int(index)]) for value, index in zip(best.values, best.indices, strict=True)]

    def score(self, text: str) -> tuple[float, str | None]:
        """(score in [0, 1], reason): 1.0 on a pattern match, else the best similarity over the text's sentences."""
        pattern = self.matching_pattern(text)
        if pattern:
            return 1.0, f"matches injection pattern: {pattern!r}"
        pieces = [text[:1000]] + split_sentences(text)[:20]
        best, attack = max(self.similarity(pieces))
        return max(0.0, best), f"close to known attack prompt: {attack!r}"
