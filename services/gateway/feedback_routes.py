"""Feedback on answers: any key rates the answers it was given; admin keys read all feedback back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.gateway.access import require_admin
from services.gateway.deps import Gateway, Key
from services.gateway.feedback import SINCE_PATTERN, FeedbackPage, FeedbackRecord, FeedbackRequest

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post("/feedback", response_model=FeedbackRecord, status_code=201)
async def give_feedback(body: FeedbackRequest, gateway: Gateway, key: Key) -> FeedbackRecord:
    return await gateway.feedback.add(key, body)


@router.get("/feedback", response_model=FeedbackPage)
async def read_feedback(gateway: Gateway, key: Key,
                        since: Annotated[str | None, Query(pattern=SINCE_PATTERN, description=(
                            "An entry id (what came after it) or a Unix time in milliseconds (from then on)."))] = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> FeedbackPage:
    require_admin(key, "reading feedback")
    return await gateway.feedback.read(since, limit)
