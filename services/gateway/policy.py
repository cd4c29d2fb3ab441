"""The answer policy, in one place: which sentences the user sees, corrected how, and when an
answer is refused. The guard judges each sentence and proposes corrections (a supported trim, a
passage sentence to quote); this module decides, cheapest correction first:

    keep     a supported sentence, with the citation the guard found when it had none
    trimmed  its unsupported clauses cut, when the supported remainder still speaks to the question
    quoted   a passage sentence, verbatim and cited, that answers the question
    drop     nothing to release; a sentence that repeats one already released is dropped too

and for the whole answer: when nothing survives, the passage sentence that best answers the
question (extractive), and a refusal only when no passage is relevant enough to the question.
With `corrections` off, the policy is the earlier one: keep or drop, refuse when nothing is left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.contracts.guard import Quote, SentenceVerdict
from services.common.contracts.vocabulary import SentenceAction
from services.common.sentences import repeats

log = logging.getLogger(__name__)


class AnswerPolicySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANSWER_POLICY_", extra="ignore")

    corrections: bool = Field(default=True, description="Trim, quote and answer extractively; off: keep or drop.")
    min_relevance: float = Field(default=0.35, ge=0, le=1, description=(
        "Quote a passage only when its relevance to the question (the guard's Quote.relevance) is at least this. "
        "Chosen on train-part NQ-open questions (bench/relevance_gate.py): 1.5% of those with an answer retrieved "
        "are refused, 4.4% of those without."))
    repeat_overlap: float = Field(default=0.8, gt=0, le=1, description=(
        "A sentence with at least this share of its words in one released sentence repeats it, and is dropped."))
    refusal_text: str = "I could not find this in the sources."
    unsafe_refusal_text: str = "I can't help with that request."

    def fingerprint(self) -> str:
        """What changes a released answer: part of the answer-cache key."""
        if not self.corrections:
            return "keep-or-drop"
        return f"correct:{self.min_relevance:g}:{self.repeat_overlap:g}"


@dataclass(frozen=True)
class Release:
    text: str
    citations: list[int]
    action: SentenceAction


class AnswerPolicy:
    def __init__(self, settings: AnswerPolicySettings) -> None:
        self.settings = settings

    def judge(self, verdict: SentenceVerdict, passage_count: int, released: list[str]) -> Release | None:
        """What of one checked sentence the user sees, given the sentences already released."""
        release = self._correct(verdict, passage_count)
        if release is None:
            return None
        if repeats(release.text, released, self.settings.repeat_overlap):
            log.info("dropped a repeated sentence: %r", verdict.text)
            return None
        if release.action != "keep":
            # The user sees the correction; what the model wrote stays in the log.
            log.info("sentence %s: %r -> %r", release.action, verdict.text, release.text)
        return release

    def unguarded(self, sentence: str, citations: list[int]) -> Release:
        """`guard: false` (evaluation baselines): the sentence as the model wrote it."""
        return Release(sentence, citations, "keep")

    def closing(self, best_quote: Quote | None) -> Release | None:
        """When no sentence survived (with corrections on): the extractive answer, or None to refuse."""
        if not self._relevant(best_quote):
            return None
        return Release(_quoted(best_quote), [best_quote.passage], "quoted")

    def _correct(self, verdict: SentenceVerdict, passage_count: int) -> Release | None:
        if not verdict.safe:
            return None
        if verdict.supported:
            cited = [n for n in verdict.citations_found if 1 <= n <= passage_count] + verdict.citations_added
            return Release(verdict.text, cited, "keep")
        if not self.settings.corrections:
            return None
        if verdict.trimmed:
            return Release(verdict.trimmed.text, verdict.trimmed.citations, "trimmed")
        if self._relevant(verdict.quote):
            return Release(_quoted(verdict.quote), [verdict.quote.passage], "quoted")
        return None

    def _relevant(self, quote: Quote | None) -> bool:
        return quote is not None and quote.relevance >= self.settings.min_relevance


def _quoted(quote: Quote) -> str:
    return f"{quote.text} [{quote.passage}]"
