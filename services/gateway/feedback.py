"""Answer feedback: a thumbs up or down, with an optional comment, on an answer a key was given.

Each finished answer is remembered for `ANSWER_MEMORY_S` (its key, collection, question and text), so
that feedback names what it rates and a key can rate only its own answers. Feedback goes to a Redis
stream: Redis runs with the append-only file (fsync every second) in every deployment, and nothing
evicts a stream without a TTL. Admin keys read it back in order, a page at a time, with `since`.
"""

from __future__ import annotations

import json
import time
from typing import Literal

import redis.asyncio as redis
from pydantic import Field

from services.common.contracts.base import Contract
from services.common.contracts.vocabulary import has_control_chars
from services.common.errors import InvalidRequest, NotFound
from services.gateway.keys import ApiKey

STREAM = "ninjarag:feedback"
_ANSWERED = "ninjarag:answered:{answer_id}"
ANSWER_MEMORY_S = 7 * 24 * 3600
MAX_STORED = 1_000_000  # the stream is trimmed (approximately) beyond this many entries
ANSWER_ID_PATTERN = r"^[0-9a-f]{32}$"
SINCE_PATTERN = r"^[0-9]{1,15}(-[0-9]{1,10})?$"


class FeedbackRequest(Contract):
    answer_id: str = Field(pattern=ANSWER_ID_PATTERN, description="`answer_id` of the answer's `done` event.")
    rating: Literal["up", "down"]
    comment: str = Field(default="", max_length=2000)


class FeedbackRecord(Contract):
    id: str = Field(description="The stream entry id; pass it as `since` to read what came after.")
    answer_id: str
    rating: Literal["up", "down"]
    comment: str
    key_id: str
    collection: str
    question: str
    answer: str
    verdict: str
    at: float


class FeedbackPage(Contract):
    feedback: list[FeedbackRecord]
    next_since: str | None = Field(description="`since` for the next page; null when this page was the last.")


class FeedbackStore:
    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    async def remember_answer(self, answer_id: str, key: ApiKey, collection: str, question: str, answer: str,
                              verdict: str) -> None:
        record = {"key_id": key.key_id, "collection": collection, "question": question, "answer": answer[:4000],
                  "verdict": verdict}
        await self.redis.set(_ANSWERED.format(answer_id=answer_id), json.dumps(record), ex=ANSWER_MEMORY_S)

    async def add(self, key: ApiKey, body: FeedbackRequest) -> FeedbackRecord:
        if has_control_chars(body.comment):
            raise InvalidRequest("comment: contains control characters; send plain text")
        remembered = await self.redis.get(_ANSWERED.format(answer_id=body.answer_id))
        answered = json.loads(remembered) if remembered else None
        if answered is None or answered["key_id"] != key.key_id:
            raise NotFound(f"no answer {body.answer_id} was given to this key in the last "
                           f"{ANSWER_MEMORY_S // 86400} days; rate an answer this key received")
        entry = {"answer_id": body.answer_id, "rating": body.rating, "comment": body.comment, **answered,
                 "at": time.time()}
        entry_id = await self.redis.xadd(STREAM, {"record": json.dumps(entry)}, maxlen=MAX_STORED, approximate=True)
        return FeedbackRecord(id=_text(entry_id), **entry)

    async def read(self, since: str | None, limit: int) -> FeedbackPage:
        """Entries after `since` (an entry id, or a Unix time in milliseconds), oldest first."""
        low = "-" if since is None else (f"({since}" if "-" in since else f"{since}-0")
        entries = await self.redis.xrange(STREAM, min=low, max="+", count=limit + 1)
        records = [FeedbackRecord(id=_text(entry_id), **json.loads(fields[b"record"])) for entry_id, fields in entries]
        more = len(records) > limit
        records = records[:limit]
        return FeedbackPage(feedback=records, next_since=records[-1].id if more else None)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
