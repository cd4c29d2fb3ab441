"""The output check: is each answer sentence supported by the passages, safe, and, where it is
not supported, what could be said instead. It judges and proposes; what is released is the
answer policy's decision (services/gateway/policy.py).

Per sentence: support against what it cites (or, uncited, against each passage, adding the
citation it lacks); for a safe, unsupported sentence, the longest supported trim (cut clauses,
services/guard/trimming.py) that still speaks to the question, and the passage sentence closest
to the question and the sentence (services/guard/quotes.py). Per call: the passage sentence that
best answers the question (asked for: the extractive answer when nothing survives).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from services.common.contracts.guard import OutputVerdict, SentenceVerdict, Trim
from services.common.contracts.search import Passage, evidence_text
from services.common.sentences import citations_in, strip_citations
from services.guard.quotes import QuoteFinder
from services.guard.support import Pair, Support, SupportScorer, content_words
from services.guard.trimming import trim_candidates


@dataclass
class _Judged:
    """One sentence on its way through the check."""

    index: int
    text: str
    cited: list[int]
    scored: list[tuple[tuple[int, ...], Support]] = field(default_factory=list)

    def best(self) -> tuple[tuple[int, ...], Support] | None:
        return max(self.scored, key=lambda item: item[1].score) if self.scored else None


class OutputChecker:
    def __init__(self, support: SupportScorer, quotes: QuoteFinder,
                 are_safe: Callable[[list[str]], Awaitable[list[bool]]], threshold: float) -> None:
        self.support = support
        self.quotes = quotes
        self.are_safe = are_safe
        self.threshold = threshold

    async def check(self, question: str, sentences: list[str], passages: list[Passage], propose: bool = True,
                    with_best_quote: bool = False) -> OutputVerdict:
        evidence = [evidence_text(p.title, p.text) for p in passages]
        judged = [_Judged(i, s, citations_in(s)) for i, s in enumerate(sentences)]
        pairs = [(j.index, ids) for j in judged if j.text.strip() for ids in _evidence_for(j.cited, len(evidence))]
        # Support and safety at once: each is a model of its own, on its own thread.
        supports, safe = await asyncio.gather(self._support(sentences, evidence, pairs, question),
                                              self.are_safe(sentences))
        for (index, ids), support in zip(pairs, supports, strict=True):
            judged[index].scored.append((ids, support))
        verdicts = [self._verdict(j, len(evidence), safe[j.index]) for j in judged]
        if propose and passages:
            await self._propose(question, judged, verdicts, passages, evidence)
        best_quote = await asyncio.to_thread(self.quotes.best, question, passages) if with_best_quote else None
        return OutputVerdict(sentences=verdicts, best_quote=best_quote)

    async def _propose(self, question: str, judged: list[_Judged], verdicts: list[SentenceVerdict],
                       passages: list[Passage], evidence: list[str]) -> None:
        """Cheapest first: a supported trim; where there is none, the passage sentence to quote."""
        unsupported = [v for v in verdicts if v.safe and not v.supported and v.text.strip()]
        if not unsupported:
            return
        # Trims and quotes at once: few sentences have a supported trim, so a quote is almost always
        # wanted, and waiting for the trims first would add a second wait for a worker thread.
        # The hint without its citations is the text support scoring embedded: its vector is cached.
        trims, quotes = await asyncio.gather(
            self._trims(question, [judged[v.index] for v in unsupported], evidence),
            asyncio.to_thread(lambda: [self.quotes.best(question, passages, strip_citations(v.text)) for v in unsupported]))
        for verdict, quote in zip(unsupported, quotes, strict=True):
            verdict.trimmed = trims.get(verdict.index)
            verdict.quote = quote if verdict.trimmed is None else None

    async def _support(self, claims: list[str], evidence: list[str], pairs: list[Pair], question: str,
                       floor: float | None = None) -> list[Support]:
        return await self.support.score(claims, evidence, pairs, question, floor) if pairs else []

    def _verdict(self, judged: _Judged, passage_count: int, safe: bool) -> SentenceVerdict:
        reasons: list[str] = []
        invalid = [n for n in judged.cited if not 1 <= n <= passage_count]
        if invalid:
            reasons.append(f"cites {invalid} but there are {passage_count} passages")
        added: list[int] = []
        best = judged.best()
        score = best[1].score if best else 0.0
        supported = score >= self.threshold
        if not judged.text.strip():
            reasons.append("empty sentence")
        elif best is None:
            reasons.append("no passages to check against")
        else:
            reasons += best[1].reasons
            if supported and not any(1 <= n <= passage_count for n in judged.cited):
                added = [best[0][0] + 1]
                reasons.append(f"no valid citation; supported by passage [{added[0]}], citation added")
            if not supported:
                reasons.append(f"support {score:.2f} below {self.threshold}")
        if not safe:
            reasons.append("unsafe content")
        return SentenceVerdict(index=judged.index, text=judged.text, citations_found=judged.cited,
                               citations_valid=not invalid and bool(judged.cited), citations_added=added,
                               support_score=round(min(1.0, max(0.0, score)), 4), supported=supported, safe=safe,
                               reasons=reasons)

    async def _trims(self, question: str, sentences: list[_Judged], evidence: list[str]) -> dict[int, Trim]:
        """The longest supported trim of each sentence that shares a content word with the question."""
        asked = content_words(question)
        claims: list[str] = []
        owners: list[_Judged] = []
        for judged in sentences:
            for candidate in trim_candidates(judged.text):
                if content_words(candidate) & asked:
                    claims.append(candidate)
                    owners.append(judged)
        pairs = [(c, ids) for c, owner in enumerate(owners) for ids in _evidence_for(owner.cited, len(evidence))]
        best: dict[int, tuple[str, tuple[int, ...], Support]] = {}
        # Only a trim that reaches the threshold is used: the scorer may skip embedding those that cannot.
        supports = await self._support(claims, evidence, pairs, question, floor=self.threshold)
        for (c, ids), support in zip(pairs, supports, strict=True):
            index, held = owners[c].index, best.get(owners[c].index)
            better = held is None or (len(claims[c]), support.score) > (len(held[0]), held[2].score)
            if support.score >= self.threshold and better:
                best[index] = (claims[c], ids, support)
        return {index: Trim(text=f"{text} [{', '.join(str(i + 1) for i in ids)}].", citations=[i + 1 for i in ids],
                            support_score=round(min(1.0, support.score), 4))
                for index, (text, ids, support) in best.items()}


def _evidence_for(cited: list[int], passage_count: int) -> list[tuple[int, ...]]:
    """Cited: what it cites, together. Uncited (or only invalid citations): each passage on its own."""
    valid = tuple(n - 1 for n in cited if 1 <= n <= passage_count)
    return [valid] if valid else [(p,) for p in range(passage_count)]
