"""The guard's serving class: is the question allowed, which answer sentences may the user see,
which retrieved passages carry instructions to the model. Light to construct; `warm_up` loads the
models (blocking, run in a thread at start), `aclose` closes the production scorers' clients."""

from __future__ import annotations

import asyncio

from services.common.contracts.guard import (
    CategoryScore,
    InputVerdict,
    OutputGuardRequest,
    OutputVerdict,
    PassageScreenResult,
    ScreenedPassage,
    SupportRequest,
    SupportResult,
    SupportScore,
)
from services.common.contracts.search import Passage, evidence_text
from services.common.contracts.vocabulary import has_control_chars
from services.common.errors import UnknownPassageSet
from services.common.sentences import split_sentences
from services.guard.encoder import SentenceEncoder
from services.guard.hazards import HazardDetector
from services.guard.injection import InjectionDetector
from services.guard.output_check import OutputChecker
from services.guard.passage_sets import PassageSets
from services.guard.quotes import QuoteFinder
from services.guard.scorers import HttpNliSupport, LlamaGuardSafety
from services.guard.settings import GuardSettings
from services.guard.support import LocalSupportScorer, SupportScorer
from services.guard.toxicity import ToxicityScorer


def _evidence_text(passage: Passage) -> str:
    return evidence_text(passage.title, passage.text)


class GuardService:
    def __init__(self, settings: GuardSettings, toxicity: ToxicityScorer, injection: InjectionDetector,
                 support: SupportScorer, llama_guard: LlamaGuardSafety | None) -> None:
        self.settings = settings
        self.toxicity = toxicity
        self.injection = injection
        self.support = support
        self.llama_guard = llama_guard
        self.passage_sets = PassageSets()
        self.hazards = HazardDetector(injection.encoder)
        self.output = OutputChecker(support, QuoteFinder(injection.encoder), self._are_safe, settings.support_threshold)

    @classmethod
    def build(cls, settings: GuardSettings) -> GuardService:
        """The scorers the settings name: local models, or production ones behind HTTP."""
        encoder = SentenceEncoder(settings.encoder_path)
        support = (HttpNliSupport(settings.nli_url, settings.http_timeout_s) if settings.support_backend == "nli_http"
                   else LocalSupportScorer(encoder))
        llama_guard = (LlamaGuardSafety(settings.llama_guard_url, settings.llama_guard_model, settings.http_timeout_s)
                       if settings.safety_backend == "llama_guard" else None)
        return cls(settings, ToxicityScorer(), InjectionDetector(encoder), support, llama_guard)

    def warm_up(self) -> str:
        """Loads the local models (seconds of CPU); returns what /readyz reports."""
        encoder_name = self.injection.encoder.warm_up()
        self.injection.warm_up()
        self.hazards.warm_up()
        self.toxicity.warm_up()
        return (f"{encoder_name} + alt-profanity-check; support: {self.settings.support_backend}, "
                f"safety: {self.settings.safety_backend}")

    async def aclose(self) -> None:
        await self.support.aclose()
        if self.llama_guard:
            await self.llama_guard.aclose()

    # --- input -------------------------------------------------------------------------------

    async def check_input(self, question: str) -> InputVerdict:
        limits = self._limit_problem(question)
        if limits:
            return InputVerdict(allowed=False, reason=limits,
                                categories=[CategoryScore(name="input_limits", score=1.0, flagged=True)])
        toxicity, (injection, injection_reason), hazard = await asyncio.to_thread(
            lambda: (self.toxicity.score(question), self.injection.score(question), self.hazards.assess(question)))
        harmful = hazard.probability >= self.settings.hazard_threshold
        categories = [
            CategoryScore(name="toxicity", score=round(toxicity, 4), flagged=toxicity >= self.settings.toxicity_threshold),
            CategoryScore(name="prompt_injection", score=round(injection, 4),
                          flagged=injection >= self.settings.injection_threshold),
            CategoryScore(name="hazard", score=round(hazard.probability, 4), flagged=harmful),
        ]
        reasons = []
        if categories[0].flagged:
            reasons.append("the question is abusive or toxic")
        if categories[1].flagged:
            reasons.append(f"the question looks like a prompt injection ({injection_reason})")
        if harmful:
            reasons.append(f"the question asks for help to harm ({hazard.category})")
        if self.llama_guard:
            safe, hazards = await self.llama_guard.classify(question, role="user")
            categories.append(CategoryScore(name="llama_guard", score=0.0 if safe else 1.0, flagged=not safe))
            if not safe:
                reasons.append(f"unsafe request: {', '.join(hazards)}")
        return InputVerdict(allowed=not reasons, categories=categories, reason="; ".join(reasons) or "allowed")

    def _limit_problem(self, question: str) -> str | None:
        if not question.strip():
            return "the question is empty"
        if len(question) > self.settings.max_question_chars:
            return f"the question is {len(question)} characters long; at most {self.settings.max_question_chars}"
        if has_control_chars(question):
            return "the question contains control characters"
        return None

    # --- output ------------------------------------------------------------------------------

    def _passages_of(self, request: OutputGuardRequest) -> list[Passage]:
        if request.passage_set is None:
            return request.passages
        passages = self.passage_sets.get(request.passage_set)
        if passages is None:
            raise UnknownPassageSet(f"passage set {request.passage_set[:12]}... is not held here; send the passages")
        return passages

    async def check_output(self, request: OutputGuardRequest) -> OutputVerdict:
        sentences = request.sentences if request.sentences is not None else split_sentences(request.answer or "")
        return await self.output.check(request.question, sentences, self._passages_of(request),
                                       request.propose_corrections, request.with_best_quote)

    async def _are_safe(self, sentences: list[str]) -> list[bool]:
        if self.llama_guard:
            return list(await asyncio.gather(*(self._llama_guard_safe(s) for s in sentences)))
        # Off the event loop (a call may carry 200 long sentences), in one hop for all of them.
        scores = await asyncio.to_thread(self.toxicity.score_many, sentences)
        return [not s.strip() or score < self.settings.toxicity_threshold for s, score in zip(sentences, scores, strict=True)]

    async def _llama_guard_safe(self, sentence: str) -> bool:
        return not sentence.strip() or (await self.llama_guard.classify(sentence, role="agent"))[0]

    async def score_support(self, request: SupportRequest) -> SupportResult:
        passages = [_evidence_text(p) for p in request.passages]
        pairs = [(pair.sentence, tuple(n - 1 for n in pair.passages)) for pair in request.pairs]
        supports = await self.support.score(request.sentences, passages, pairs, request.question)
        threshold = self.settings.support_threshold
        return SupportResult(threshold=threshold, scores=[
            SupportScore(score=min(1.0, max(0.0, round(s.score, 4))), supported=s.score >= threshold) for s in supports])

    # --- passages ----------------------------------------------------------------------------

    async def screen_passages(self, passages: list[Passage]) -> PassageScreenResult:
        def screen() -> list[ScreenedPassage]:
            # The same texts the support check splits, so their sentence embeddings are cached for it.
            scores = self.injection.score_many([_evidence_text(passage) for passage in passages])
            return [ScreenedPassage(id=passage.id, score=round(score, 4), reason=reason)
                    for passage, (score, reason) in zip(passages, scores, strict=True)
                    if score >= self.settings.passage_injection_threshold]

        flagged = await asyncio.to_thread(screen)
        dropped = {item.id for item in flagged}
        kept = self.passage_sets.register([p for p in passages if p.id not in dropped])
        return PassageScreenResult(flagged=flagged, passage_set=kept)
