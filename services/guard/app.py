"""Guard app factory: /v1/guard/input, /v1/guard/output, /v1/guard/passages, /v1/guard/support."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.app import ReadinessState, build_service_app
from services.common.contracts.guard import (
    InputGuardRequest,
    InputVerdict,
    OutputGuardRequest,
    OutputVerdict,
    PassageScreenRequest,
    PassageScreenResult,
    SupportRequest,
    SupportResult,
)
from services.common.errors import NotReady
from services.guard.encoder import SentenceEncoder
from services.guard.injection import InjectionDetector
from services.guard.metrics import GUARD_DECISIONS
from services.guard.scorers import HttpNliSupport, LlamaGuardSafety
from services.guard.service import GuardService
from services.guard.settings import GuardSettings
from services.guard.support import LocalSupportScorer
from services.guard.toxicity import ToxicityScorer


def build_guard(settings: GuardSettings) -> GuardService:
    encoder = SentenceEncoder(settings.encoder_path)
    support = (HttpNliSupport(settings.nli_url, settings.http_timeout_s) if settings.support_backend == "nli_http"
               else LocalSupportScorer(encoder))
    llama_guard = (LlamaGuardSafety(settings.llama_guard_url, settings.llama_guard_model, settings.http_timeout_s)
                   if settings.safety_backend == "llama_guard" else None)
    return GuardService(settings, ToxicityScorer(), InjectionDetector(encoder), support, llama_guard)


def create_app(settings: GuardSettings) -> FastAPI:
    settings.apply_cpu_threads()
    readiness = ReadinessState("models")
    guard = build_guard(settings)
    loaded = {"ready": False}

    def load() -> str:
        encoder_name = guard.injection.encoder.warm_up()
        guard.injection.warm_up()
        guard.toxicity.warm_up()
        loaded["ready"] = True
        return f"{encoder_name} + alt-profanity-check; support: {settings.support_backend}, safety: {settings.safety_backend}"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm_up = readiness.warm_up("models", load)
        yield
        warm_up.cancel()

    app = build_service_app("guard", settings, readiness=readiness, lifespan=lifespan)

    def ready_guard() -> GuardService:
        if not loaded["ready"]:
            raise NotReady(f"guard models not loaded: {readiness.report('guard').checks['models']}", retry_after_s=5)
        return guard

    @app.post("/v1/guard/input", response_model=InputVerdict)
    async def check_input(body: InputGuardRequest) -> InputVerdict:
        verdict = await ready_guard().check_input(body.question)
        GUARD_DECISIONS.labels("input", "allow" if verdict.allowed else "refuse").inc()
        return verdict

    @app.post("/v1/guard/output", response_model=OutputVerdict)
    async def check_output(body: OutputGuardRequest) -> OutputVerdict:
        verdict = await ready_guard().check_output(body)
        for sentence in verdict.sentences:
            GUARD_DECISIONS.labels("sentence", sentence.action).inc()
        GUARD_DECISIONS.labels("answer", verdict.verdict).inc()
        return verdict

    @app.post("/v1/guard/passages", response_model=PassageScreenResult)
    async def screen_passages(body: PassageScreenRequest) -> PassageScreenResult:
        result = await ready_guard().screen_passages(body.passages)
        GUARD_DECISIONS.labels("passage", "flag").inc(len(result.flagged))
        return result

    @app.post("/v1/guard/support", response_model=SupportResult)
    async def score_support(body: SupportRequest) -> SupportResult:
        """Raw support scores for (sentence, passages) pairs: what evaluations use to score citations."""
        return await ready_guard().score_support(body)

    return app
