"""The guard's HTTP routes: parse, call the serving class, count the decision."""

from __future__ import annotations

from fastapi import APIRouter

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
from services.guard.deps import Guard
from services.guard.metrics import GUARD_DECISIONS

router = APIRouter(prefix="/v1/guard")


@router.post("/input", response_model=InputVerdict)
async def check_input(body: InputGuardRequest, guard: Guard) -> InputVerdict:
    verdict = await guard.check_input(body.question)
    GUARD_DECISIONS.labels("input", "allow" if verdict.allowed else "refuse").inc()
    return verdict


@router.post("/output", response_model=OutputVerdict)
async def check_output(body: OutputGuardRequest, guard: Guard) -> OutputVerdict:
    verdict = await guard.check_output(body)
    for sentence in verdict.sentences:
        judgement = "unsafe" if not sentence.safe else "supported" if sentence.supported else (
            "trimmable" if sentence.trimmed else "quotable" if sentence.quote else "unsupported")
        GUARD_DECISIONS.labels("sentence", judgement).inc()
    return verdict


@router.post("/passages", response_model=PassageScreenResult)
async def screen_passages(body: PassageScreenRequest, guard: Guard) -> PassageScreenResult:
    result = await guard.screen_passages(body.passages)
    GUARD_DECISIONS.labels("passage", "flag").inc(len(result.flagged))
    return result


@router.post("/support", response_model=SupportResult)
async def score_support(body: SupportRequest, guard: Guard) -> SupportResult:
    """Raw support scores for (sentence, passages) pairs: what evaluations use to score citations."""
    return await guard.score_support(body)
