"""Does a cited passage support a sentence? The local scorer: MiniLM similarity between the
sentence and the passage's sentences, combined with lexical evidence, and vetoed by facts that
do not match (numbers, dates, names, negation): a sentence that shares most of its words with
the passage but changes a number must still score low.

Question-aware: a short answer ("1937 [2].") says little on its own, so a claim of few content
words is also judged as the question together with it, and the better of the two counts.

What it cannot do (a production NLI model can): follow reasoning across sentences, tell
paraphrases with changed meaning that keep every content word ("A beat B" vs "B beat A"),
or judge implicit contradictions.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Protocol

import torch

from services.common.sentences import split_sentences, strip_citations
from services.guard.encoder import SentenceEncoder

STOPWORDS = frozenset(
    "a an the and or but if of at by for with about against between into through during before after above "
    "below to from up down in out on off over under again further then once here there when where why how all "
    "any both each few more most other some such only own same so than too very can will just should now is are "
    "was were be been being have has had having do does did doing it its it's this that these those i you he she "
    "we they them his her their our your my me him us what which who whom also as not no nor yes".split()
)
# A claim with at most this many content words is judged together with the question as well.
SHORT_CLAIM_WORDS = 5
NEGATIONS = frozenset({"not", "no", "never", "none", "neither", "nor", "cannot", "without"})
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def _normalise_number(token: str) -> str:
    return token.replace(",", "").rstrip(".")


def _stem(word: str) -> str:
    word = word.lower().strip("'’")
    for suffix in ("'s", "’s", "ies", "es", "s", "ed", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2}


def numbers_in(text: str) -> set[str]:
    return {_normalise_number(n) for n in _NUMBER.findall(text)}


def names_in(sentence: str) -> set[str]:
    """Capitalised words not at the start of the sentence: names, places, titles."""
    words = _WORD.findall(sentence)
    return {w for w in words[1:] if w[0].isupper() and w.lower() not in STOPWORDS}


def has_negation(text: str) -> bool:
    lowered = text.lower()
    return any(w in NEGATIONS for w in _WORD.findall(lowered)) or "n't" in lowered


def is_short_claim(claim: str) -> bool:
    """Too few content words to be judged without the question ("1937 [2].", "Herman Melville.")."""
    return len(content_words(strip_citations(claim))) <= SHORT_CLAIM_WORDS


@dataclass
class Support:
    score: float
    reasons: list[str] = field(default_factory=list)


# (claim index, passage indices): does the concatenation of those passages support that claim?
Pair = tuple[int, tuple[int, ...]]


class SupportScorer(Protocol):
    """Scores (claim, passage set) pairs; the local scorer and an NLI model behind HTTP both are one."""

    async def score(self, claims: list[str], passages: list[str], pairs: list[Pair], question: str = ""
                    ) -> list[Support]: ...

    async def aclose(self) -> None: ...


class LocalSupportScorer:
    """MiniLM similarity plus lexical evidence, computed once per request for all pairs."""

    SEMANTIC_WEIGHT = 0.5
    NUMBER_PENALTY = 0.25
    NAME_PENALTY = 0.4
    NEGATION_PENALTY = 0.3

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder

    async def score(self, claims: list[str], passages: list[str], pairs: list[Pair], question: str = ""
                    ) -> list[Support]:
        """In a worker thread: the encoder's matrix work must not hold up the event loop."""
        return await asyncio.to_thread(self._score, claims, passages, pairs, question)

    async def aclose(self) -> None:
        """Nothing to close: the encoder lives as long as the process."""

    def _score(self, claims: list[str], passages: list[str], pairs: list[Pair], question: str) -> list[Support]:
        claims = [strip_citations(c) for c in claims]
        needed = {i for _, ids in pairs for i in ids}
        passage_sentences = [(split_sentences(p) or [p]) if i in needed else [] for i, p in enumerate(passages)]
        flat = [s for sentences in passage_sentences for s in sentences]
        owner = [i for i, sentences in enumerate(passage_sentences) for _ in sentences]
        # Short claims only are also embedded after the question: a second embedding for every claim
        # would double the encoder's work.
        short = [i for i, c in enumerate(claims) if question.strip() and is_short_claim(c)]
        vectors = self.encoder.encode(claims + [f"{question} {claims[i]}" for i in short] + flat)
        probes = len(claims) + len(short)
        similarity = vectors[: len(claims)] @ vectors[probes:].T
        if short:
            asked = vectors[len(claims): probes] @ vectors[probes:].T
            similarity[short] = torch.maximum(similarity[short], asked)
        owner_tensor = torch.tensor(owner)
        words = [content_words(p) for p in passages]
        numbers = [numbers_in(p) for p in passages]
        lowered = [p.lower() for p in passages]
        return [self._one(claims[c], similarity[c], owner_tensor, flat, ps, words, numbers, lowered) for c, ps in pairs]

    def _one(self, claim, similarity, owner, flat, passage_ids, words, numbers, lowered) -> Support:  # noqa: ANN001
        mask = torch.isin(owner, torch.tensor(passage_ids))
        candidates = similarity.masked_fill(~mask, -1.0)
        best = int(candidates.argmax())
        semantic = max(0.0, float(candidates[best]))
        evidence_words = set().union(*(words[i] for i in passage_ids))
        claim_words = content_words(claim)
        coverage = len(claim_words & evidence_words) / len(claim_words) if claim_words else 1.0
        score = self.SEMANTIC_WEIGHT * semantic + (1 - self.SEMANTIC_WEIGHT) * coverage
        reasons = []
        missing_numbers = numbers_in(claim) - set().union(*(numbers[i] for i in passage_ids))
        if missing_numbers:
            score *= self.NUMBER_PENALTY
            reasons.append(f"number not in the passage: {', '.join(sorted(missing_numbers))}")
        evidence_text = " ".join(lowered[i] for i in passage_ids)
        missing_names = {n for n in names_in(claim) if n.lower() not in evidence_text}
        if missing_names:
            score *= self.NAME_PENALTY
            reasons.append(f"name not in the passage: {', '.join(sorted(missing_names))}")
        if has_negation(claim) != has_negation(flat[best]):
            score *= self.NEGATION_PENALTY
            reasons.append("negation differs from the closest passage sentence")
        return Support(round(min(1.0, score), 4), reasons)
