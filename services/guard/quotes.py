"""Which passage sentence answers the question? The extractive fallback of the answer policy: a
sentence the model wrote that the passages do not support may be replaced by one they state
verbatim, and an answer with nothing left may still quote the passage that answers it.

Relevance is the CRAG-style evidence that a passage answers the question at all: the MiniLM
similarity between the question and the passage sentence, and the share of the question's content
words that the passage (with its title) holds. The answer policy refuses below its threshold.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from services.common.contracts.guard import Quote
from services.common.contracts.search import Passage, evidence_text
from services.common.sentences import normal_word, split_sentences, word_set
from services.guard.encoder import SentenceEncoder
from services.guard.support import content_words

MIN_QUOTE_WORDS = 4
MAX_QUOTE_CHARS = 400
SEMANTIC_WEIGHT = 0.5
# Ranking bonus for a sentence that holds the kind of answer the question asks for: MiniLM alone
# prefers the sentence that restates the question over the one that answers it.
ANSWER_KIND_BONUS = 0.15
# How much the model's own (unsupported) sentence steers the choice: it often names the right
# passage sentence in other words, but it is wrong, so the question counts for more.
HINT_WEIGHT = 0.5
_ASKS_FOR_NUMBER = ("when ", "what year", "which year", "what date", "how many", "how much", "how long", "how old",
                    "what age", "how far", "how tall", "how big")
_ASKS_FOR_NAME = ("who ", "whom ", "whose ", "where ", "which country", "which city", "what country", "what city")


def answer_kind(question: str) -> str | None:
    """`number`, `name` or None, from how the question starts or asks ("who", "how many", "what year")."""
    asked = f" {question.lower()} "
    if any(f" {cue}" in asked for cue in _ASKS_FOR_NUMBER):
        return "number"
    if any(f" {cue}" in asked for cue in _ASKS_FOR_NAME):
        return "name"
    return None


def holds_kind(sentence: str, kind: str | None, question: str) -> bool:
    """Does the sentence hold a number (`number`), or names (`name`), that the question does not?"""
    asked = word_set(question)
    new = [w for w in sentence.split()[1:] if normal_word(w) not in asked]
    if kind == "number":
        return any(any(c.isdigit() for c in w) for w in new)
    if kind == "name":
        return sum(w[:1].isupper() for w in new) >= 2
    return False


@dataclass(frozen=True)
class _Candidate:
    passage: int  # 1-based
    text: str
    coverage: float


def _quotable(sentence: str) -> bool:
    """A whole sentence: passages are cut from articles, so their first "sentence" may be a tail
    ("344-345), Graham McCann says ...": it closes a bracket it never opened)."""
    closes, opens = sentence.find(")"), sentence.find("(")
    return (MIN_QUOTE_WORDS <= len(sentence.split()) and len(sentence) <= MAX_QUOTE_CHARS
            and (sentence[0].isupper() or sentence[0].isdigit() or sentence[0] in "\"'“‘(")
            and not (closes >= 0 and (opens < 0 or closes < opens)))


@functools.lru_cache(maxsize=2048)
def _quotable_sentences(text: str) -> tuple[str, ...]:
    """Cached: each unsupported sentence of an answer looks for a quote in the same passages."""
    return tuple(s for s in split_sentences(text) if _quotable(s))


class QuoteFinder:
    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder

    def best(self, question: str, passages: list[Passage], hint: str | None = None) -> Quote | None:
        """The passage sentence that answers `question` best; with `hint` (a sentence the model wrote),
        the one closest to both. Blocking: call it in a worker thread."""
        candidates = self._candidates(question, passages)
        if not candidates:
            return None
        texts = [c.text for c in candidates]
        probes = [question] + ([hint] if hint else [])
        vectors = self.encoder.encode(probes + texts)
        similarity = (vectors[: len(probes)] @ vectors[len(probes):].T).clamp(min=0.0)
        coverage = torch.tensor([c.coverage for c in candidates])
        relevance = SEMANTIC_WEIGHT * similarity[0] + (1 - SEMANTIC_WEIGHT) * coverage
        kind = answer_kind(question)
        answers_kind = torch.tensor([ANSWER_KIND_BONUS if holds_kind(t, kind, question) else 0.0 for t in texts])
        ranking = relevance + answers_kind + (HINT_WEIGHT * similarity[1] if hint else 0.0)
        # Ties (the same sentence in two passages) go to the earlier passage: argmax takes the first.
        best = int(ranking.argmax())
        return Quote(passage=candidates[best].passage, text=texts[best], relevance=round(float(relevance[best]), 4))

    @staticmethod
    def _candidates(question: str, passages: list[Passage]) -> list[_Candidate]:
        asked = content_words(question)
        candidates = []
        for number, passage in enumerate(passages, 1):
            held = content_words(evidence_text(passage.title, passage.text))
            coverage = len(asked & held) / len(asked) if asked else 0.0
            candidates += [_Candidate(number, s, coverage) for s in _quotable_sentences(passage.text)]
        return candidates
