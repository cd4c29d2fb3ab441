"""The OpenAI-compatible facade: POST /v1/chat/completions answers the last user message through the
same guarded pipeline; the citations travel in an extra `citations` field."""

from __future__ import annotations

import time
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from services.common.contracts.answer import CitationsEvent, DoneEvent, SentenceEvent, Source
from services.common.contracts.vocabulary import MAX_QUESTION_CHARS


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str = Field(max_length=MAX_QUESTION_CHARS * 10)


class ChatCompletionRequest(BaseModel):
    model: str = "ninjarag"
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    temperature: float | None = None  # accepted for compatibility; answers are greedy

    def question(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        raise ValueError("no user message: the last user message is the question")


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def chunk(chat_id: str, model: str, delta: dict, finish_reason: str | None = None,
          citations: list[Source] | None = None) -> dict:
    body = {"id": chat_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    if citations is not None:
        body["citations"] = [c.model_dump() for c in citations]
    return body


def sentence_delta(event: SentenceEvent, first: bool) -> dict:
    return {"content": ("" if first else " ") + event.text}


def completion(chat_id: str, model: str, sentences: list[SentenceEvent], citations: CitationsEvent | None,
               done: DoneEvent) -> dict:
    return {
        "id": chat_id, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": " ".join(s.text for s in sentences)},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": done.tokens.prompt, "completion_tokens": done.tokens.completion,
                  "total_tokens": done.tokens.prompt + done.tokens.completion},
        "citations": [c.model_dump() for c in (citations.citations if citations else [])],
        "ninjarag": {"verdict": done.verdict, "cache_hit": done.cache_hit, "timings_ms": done.timings_ms},
    }
