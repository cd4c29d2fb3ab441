"""Gateway contract: POST /v1/answer and its Server-Sent Events.

A stream is `sources`, then `sentence`* (each already passed by the guard), then
`citations`, then exactly one terminal event: `done` or `error`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from services.common.contracts.base import Contract, Question, TopK
from services.common.contracts.collections import CollectionName, Filters
from services.common.contracts.vocabulary import RetrievalMode, SentenceAction, Verdict


class AnswerRequest(Contract):
    question: Question
    top_k: TopK = 10
    stream: bool = True
    max_tokens: int = Field(default=256, ge=1, le=4096)
    retrieval: RetrievalMode | None = Field(
        default=None, description="Retrieval mode; none answers closed book. Default: the gateway's GATEWAY_SEARCH_MODE.")
    guard: bool = Field(default=True, description="false skips every guard check; only where GATEWAY_ALLOW_UNGUARDED.")
    collection: CollectionName | None = Field(
        default=None, description="The collection to answer from; default: the gateway's GATEWAY_DEFAULT_COLLECTION.")
    filters: Filters | None = Field(default=None, description="Answer only from passages whose metadata matches.")
    model: str | None = Field(default=None, max_length=100, description=(
        "A generator variant by name (GET /v1/models); default: the variant this key is routed to."))


class Source(Contract):
    n: int = Field(ge=1, description="The number the model sees and cites as [n].")
    id: str
    title: str
    text: str
    score: float | None = None


class SourcesEvent(Contract):
    event: Literal["sources"] = "sources"
    sources: list[Source]


class SentenceEvent(Contract):
    event: Literal["sentence"] = "sentence"
    index: int = Field(ge=0)
    text: str
    citations: list[int]
    action: SentenceAction = Field(default="keep", description="keep: as the model wrote it; trimmed: its unsupported "
                                   "clauses cut; quoted: a passage sentence, verbatim, in place of an unsupported one.")


class CitationsEvent(Contract):
    event: Literal["citations"] = "citations"
    citations: list[Source]


class TokenCounts(Contract):
    prompt: int = Field(ge=0)
    completion: int = Field(ge=0)


ANSWER_ID = Field(default=None, description="What POST /v1/feedback rates this answer by.")


class DoneEvent(Contract):
    event: Literal["done"] = "done"
    answer_id: str | None = ANSWER_ID
    variant: str | None = Field(default=None, description="The generator variant that answered.")
    verdict: Verdict
    timings_ms: dict[str, float]
    tokens: TokenCounts
    cache_hit: bool
    dropped: int = Field(default=0, ge=0, description="Sentences the guard held back.")
    corrected: int = Field(default=0, ge=0, description="Sentences released trimmed or replaced by a quote.")


class ErrorEvent(Contract):
    event: Literal["error"] = "error"
    type: str
    message: str


AnswerEvent = Annotated[
    SourcesEvent | SentenceEvent | CitationsEvent | DoneEvent | ErrorEvent,
    Field(discriminator="event"),
]
TERMINAL_EVENTS = frozenset({"done", "error"})


class AnswerResponse(Contract):
    """`stream=false`: the same content as the stream, in one document."""

    answer_id: str | None = ANSWER_ID
    answer: str
    sentences: list[SentenceEvent]
    sources: list[Source]
    citations: list[Source]
    verdict: Verdict
    timings_ms: dict[str, float]
    tokens: TokenCounts
    cache_hit: bool
    dropped: int = Field(default=0, ge=0, description="Sentences the guard held back.")
    corrected: int = Field(default=0, ge=0, description="Sentences released trimmed or replaced by a quote.")
