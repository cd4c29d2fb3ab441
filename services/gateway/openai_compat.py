"""The OpenAI-compatible facade: POST /v1/chat/completions answers the last user message through the
same guarded pipeline; the citations travel in an extra `citations` field."""

from __future__ import annotations

import json
import time
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from services.common.contracts.answer import AnswerEvent, CitationsEvent, DoneEvent, ErrorEvent, SentenceEvent, Source
from services.common.contracts.collections import NAME_PATTERN
from services.common.contracts.vocabulary import MAX_QUESTION_CHARS
from services.gateway.variants import ROUTED


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str = Field(max_length=MAX_QUESTION_CHARS * 10)


# The guarded RAG pipeline as routed (each key to its sticky variant); each generator variant is also
# listed under its own name, and `model` in a chat completion selects one (services/gateway/variants.py).
# Clients such as Open WebUI and LangChain list models before they chat.
SERVED_MODEL = ROUTED
SERVED_SINCE = int(time.time())  # OpenAI's `created`: when this process began serving it


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "ninjarag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def served_models(variants: list[str]) -> list[ModelCard]:
    names = [SERVED_MODEL, *(name for name in variants if name != SERVED_MODEL)]
    return [ModelCard(id=name, created=SERVED_SINCE) for name in names]


class ChatCompletionRequest(BaseModel):
    model: str = SERVED_MODEL
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    temperature: float | None = None  # accepted for compatibility; answers are greedy
    # ninjarag's own (OpenAI clients send it as an extra body field): the collection to answer from.
    collection: str | None = Field(default=None, pattern=NAME_PATTERN)

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


class ChatStream:
    """Answer events rendered as OpenAI chat-completion chunks (SSE `data:` items), one answer's worth."""

    def __init__(self, chat_id: str, model: str) -> None:
        self.chat_id, self.model = chat_id, model
        self._first = True

    def render(self, event: AnswerEvent) -> list[dict]:
        if isinstance(event, SentenceEvent):
            delta = {"content": ("" if self._first else " ") + event.text}
            if self._first:
                delta["role"] = "assistant"
            self._first = False
            return [{"data": json.dumps(chunk(self.chat_id, self.model, delta))}]
        if isinstance(event, CitationsEvent):
            return [{"data": json.dumps(chunk(self.chat_id, self.model, {}, "stop", event.citations))}]
        if isinstance(event, ErrorEvent):
            return [{"data": json.dumps({"error": {"type": event.type, "message": event.message}})}, {"data": "[DONE]"}]
        if isinstance(event, DoneEvent):
            return [{"data": "[DONE]"}]
        return []


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
