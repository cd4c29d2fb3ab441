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
import functools
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
SEMANTIC_WEIGHT = 0.5  # the rest is the claim's content words that the passages hold
NUMBER_PENALTY = 0.25
NAME_PENALTY = 0.4
NEGATION_PENALTY = 0.3
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


@functools.lru_cache(maxsize=2048)
def content_words(text: str) -> frozenset[str]:
    """Cached: every sentence check of an answer reads the same passages' words."""
    return frozenset(_stem(w) for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2)


def numbers_in(text: str) -> set[str]:
    return {_normalise_number(n) for n in _NUMBER.findall(text)}


@functools.lru_cache(maxsize=2048)
def passage_facts(passage: str) -> tuple[tuple[str, ...], frozenset[str]]:
    """A passage's sentences and numbers, cached: every sentence check of an answer reads them again."""
    return tuple(split_sentences(passage) or [passage]), frozenset(numbers_in(passage))


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

    async def score(self, claims: list[str], passages: list[str], pairs: list[Pair], question: str = "",
                    floor: float | None = None) -> list[Support]:
        """`floor`: a pair that cannot reach it may be scored by an upper bound below it, unembedded."""
        ...

    async def aclose(self) -> None: ...


class LocalSupportScorer:
    """MiniLM similarity plus lexical evidence, computed once per request for all pairs."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self.encoder = encoder

    async def score(self, claims: list[str], passages: list[str], pairs: list[Pair], question: str = "",
                    floor: float | None = None) -> list[Support]:
        """In a worker thread: the encoder's matrix work must not hold up the event loop."""
        return await asyncio.to_thread(self._score, claims, passages, pairs, question, floor)

    async def aclose(self) -> None:
        """Nothing to close: the encoder lives as long as the process."""

    def _score(self, claims: list[str], passages: list[str], pairs: list[Pair], question: str,
               floor: float | None) -> list[Support]:
        claims = [strip_citations(c) for c in claims]
        words = [content_words(p) for p in passages]
        facts = [passage_facts(p) for p in passages]
        numbers = [found for _, found in facts]
        lowered = [p.lower() for p in passages]
        lexical = [_Lexical.of(claims[c], ids, words, numbers, lowered) for c, ids in pairs]
        # The encoder is most of the cost: a claim none of whose pairs could reach the floor even at
        # full similarity is not embedded, and those pairs get their ceiling (the trims' case).
        reachable = [floor is None or round(lex.ceiling(), 4) >= floor for lex in lexical]
        embedded = sorted({c for (c, _), keep in zip(pairs, reachable, strict=True) if keep})
        rows = {c: row for row, c in enumerate(embedded)}
        needed = {i for (c, ids), keep in zip(pairs, reachable, strict=True) if keep for i in ids}
        passage_sentences = [facts[i][0] if i in needed else () for i in range(len(passages))]
        flat = [s for sentences in passage_sentences for s in sentences]
        starts = [0]
        for sentences in passage_sentences:
            starts.append(starts[-1] + len(sentences))
        spans = [range(starts[i], starts[i + 1]) for i in range(len(passages))]
        # Plain lists: per pair, a maximum over a few dozen numbers is cheaper in Python than in torch.
        similarity = self._similarity([claims[c] for c in embedded], flat, question).tolist() if embedded else []
        return [self._one(lex, similarity[rows[c]], spans, flat, ids) if keep
                else Support(round(lex.ceiling(), 4), [*lex.reasons, "below the floor unembedded"])
                for (c, ids), lex, keep in zip(pairs, lexical, reachable, strict=True)]

    def _similarity(self, claims: list[str], flat: list[str], question: str) -> torch.Tensor:
        """[claims, passage sentences] cosine similarity; a short claim's is the better of itself and
        the question with it. Only short claims get the second embedding: one for every claim would
        double the encoder's work."""
        short = [i for i, c in enumerate(claims) if question.strip() and is_short_claim(c)]
        vectors = self.encoder.encode(claims + [f"{question} {claims[i]}" for i in short] + flat)
        probes = len(claims) + len(short)
        similarity = vectors[: len(claims)] @ vectors[probes:].T
        if short:
            asked = vectors[len(claims): probes] @ vectors[probes:].T
            similarity[short] = torch.maximum(similarity[short], asked)
        return similarity

    def _one(self, lexical: _Lexical, similarity: list[float], spans: list[range], flat: list[str],
             passage_ids: tuple[int, ...]) -> Support:
        # In passage order, so a tie goes to the earliest sentence.
        best = max((i for p in sorted(passage_ids) for i in spans[p]), key=similarity.__getitem__)
        semantic = max(0.0, similarity[best])
        score = (SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * lexical.coverage) * lexical.factor
        reasons = list(lexical.reasons)
        if lexical.negated != has_negation(flat[best]):
            score *= NEGATION_PENALTY
            reasons.append("negation differs from the closest passage sentence")
        return Support(round(min(1.0, score), 4), reasons)


@dataclass(frozen=True)
class _Lexical:
    """What the words alone say about a (claim, passages) pair: the share of the claim's content words
    the passages hold, and the penalties for numbers and names they do not hold."""

    coverage: float
    factor: float
    reasons: tuple[str, ...]
    negated: bool

    @classmethod
    def of(cls, claim: str, passage_ids: tuple[int, ...], words: list[set[str]], numbers: list[frozenset[str]],
           lowered: list[str]) -> _Lexical:
        evidence_words = set().union(*(words[i] for i in passage_ids))
        claim_words = content_words(claim)
        coverage = len(claim_words & evidence_words) / len(claim_words) if claim_words else 1.0
        factor, reasons = 1.0, []
        missing_numbers = numbers_in(claim) - set().union(*(numbers[i] for i in passage_ids))
        if missing_numbers:
            factor *= NUMBER_PENALTY
            reasons.append(f"number not in the passage: {', '.join(sorted(missing_numbers))}")
        evidence_text = " ".join(lowered[i] for i in passage_ids)
        missing_names = {n for n in names_in(claim) if n.lower() not in evidence_text}
        if missing_names:
            factor *= NAME_PENALTY
            reasons.append(f"name not in the passage: {', '.join(sorted(missing_names))}")
        return cls(coverage, factor, tuple(reasons), has_negation(claim))

    def ceiling(self) -> float:
        """The score at full similarity: no embedding can lift the pair above it."""
        return min(1.0, (SEMANTIC_WEIGHT + (1 - SEMANTIC_WEIGHT) * self.coverage) * self.factor)
