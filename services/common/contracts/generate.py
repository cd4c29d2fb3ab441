"""Generator contract: POST /v1/generate and its token stream."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.common.contracts.base import Contract, Question
from services.common.contracts.search import Passage

FinishReason = Literal["stop", "length", "abort"]


class ModelInfo(Contract):
    """GET /v1/model: what the answer cache keys on, the model being served, and its prompt."""
    model: str
    max_model_len: int = Field(ge=1)
    prompt_template: str


class GenerateRequest(Contract):
    question: Question
    passages: list[Passage] = Field(default_factory=list, max_length=100)
    max_tokens: int = Field(default=256, ge=1, le=4096)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stream: bool = True
    packing: Literal["quality", "latency"] = "quality"


class Usage(Contract):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    bucket: int = Field(ge=0, description="Prefill bucket the prompt was padded to.")
    padding_waste: int = Field(ge=0, description="bucket - prompt_tokens.")
    passages_used: list[str] = Field(description="Ids of the passages in the prompt, in prompt order ([1], [2], ...).")


class TokenEvent(Contract):
    event: Literal["token"] = "token"
    index: int = Field(ge=0)
    text: str


class GenerateDone(Contract):
    event: Literal["done"] = "done"
    usage: Usage
    finish_reason: FinishReason
    ttft_ms: float = Field(ge=0)
    total_ms: float = Field(ge=0)
    model: str


GenerateEvent = Annotated[TokenEvent | GenerateDone, Field(discriminator="event")]


class GenerateResponse(Contract):
    text: str
    usage: Usage
    finish_reason: FinishReason
    ttft_ms: float = Field(ge=0)
    total_ms: float = Field(ge=0)
    model: str
