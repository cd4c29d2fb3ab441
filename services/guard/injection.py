"""Prompt-injection / jailbreak detection: a maintained pattern set, plus MiniLM similarity to
known attack prompts (catches rephrasings the patterns miss)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import re2

from services.common.sentences import split_sentences
from services.guard.encoder import SentenceEncoder

DATA = Path(__file__).parent / "data"


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def _compile(pattern: str) -> re2._Regexp:
    """RE2, not `re`: an automaton, linear in the text for any pattern (with `re`, "ignore the " repeated
    made pattern 1 backtrack through every gap length, and "<" then spaces took 12 s)."""
    options = re2.Options()
    options.case_sensitive = False
    options.dot_nl = True
    return re2.compile(pattern, options)


PATTERNS = [_compile(pattern) for pattern in read_lines(DATA / "injection_patterns.txt")]
ATTACK_PROMPTS = read_lines(DATA / "attack_prompts.txt")
# Characters that hide text from a reader or a pattern: zero-width ones and bidirectional controls.
_INVISIBLE = dict.fromkeys([*range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2060, 0x2065),
                            *range(0x2066, 0x206A), 0xFEFF, 0x00AD])
# Embedded pieces: windows across the whole text (not only its start) and its sentences, both bounded.
WINDOW_CHARS, WINDOW_STEP, MAX_WINDOWS, MAX_SENTENCES = 1000, 800, 25, 40


def normalised(text: str) -> str:
    """What a model reads: compatibility forms folded (fullwidth letters, ligatures), invisibles removed."""
    folded = unicodedata.normalize("NFKC", text) if not text.isascii() else text
    return folded.translate(_INVISIBLE)


def pieces_of(text: str) -> list[str]:
    starts = range(0, max(1, len(text) - WINDOW_CHARS + WINDOW_STEP), WINDOW_STEP)[:MAX_WINDOWS]
    return [text[start:start + WINDOW_CHARS] for start in starts] + split_sentences(text)[:MAX_SENTENCES]


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
        """(score in [0, 1], reason): 1.0 on a pattern match, else the best similarity over the text's pieces."""
        return self.score_many([text])[0]

    def score_many(self, texts: list[str]) -> list[tuple[float, str | None]]:
        """`score` per text, with every text's pieces embedded in one call: the encoder batches them by
        length across texts (a passage set's windows together, its short sentences together)."""
        texts = [normalised(text) for text in texts]
        results: list[tuple[float, str | None] | None] = [None] * len(texts)
        pieces, owners = [], []
        for number, text in enumerate(texts):
            pattern = self.matching_pattern(text)
            if pattern:
                results[number] = (1.0, f"matches injection pattern: {pattern!r}")
            else:
                for piece in pieces_of(text):
                    pieces.append(piece)
                    owners.append(number)
        best: dict[int, tuple[float, str]] = {}
        for owner, found in zip(owners, self.similarity(pieces), strict=True):
            best[owner] = max(best.get(owner, found), found)
        for owner, (similarity, attack) in best.items():
            results[owner] = (max(0.0, similarity), f"close to known attack prompt: {attack!r}")
        return results
