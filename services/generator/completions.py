"""vLLM's OpenAI-compatible completions API as the generator's remote engines speak it: the request
body for a prompt of token ids, and the streamed chunks turned into Deltas. A separate `vllm serve`
takes it on /v1/completions, and the same server on SageMaker on /invocations."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from services.common.errors import UpstreamError
from services.generator.engine import Delta, Sampling

# One SSE line from the engine holds one chunk of a few tokens; anything far longer is not vLLM.
MAX_LINE_BYTES = 1 << 20


def completion_body(model_name: str, prompt_token_ids: list[int], sampling: Sampling) -> dict:
    body = {"model": model_name, "prompt": prompt_token_ids, "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature, "stream": True, "stream_options": {"include_usage": True}}
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if sampling.repetition_penalty != 1.0:  # a vLLM extension to the OpenAI API
        body["repetition_penalty"] = sampling.repetition_penalty
    return body


async def deltas_from_events(events: AsyncIterator[str]) -> AsyncIterator[Delta]:
    """The data fields of the stream's server-sent events, up to [DONE], as Deltas."""
    generated, finish_reason = 0, None
    async for data in events:
        if data == "[DONE]":
            break
        chunk = json.loads(data)
        for choice in chunk.get("choices", []):
            finish_reason = choice.get("finish_reason") or finish_reason
            generated += 1  # one token per chunk until the usage chunk says exactly
            if choice.get("text"):
                yield Delta(choice["text"], generated, None)
        if chunk.get("usage"):
            generated = chunk["usage"].get("completion_tokens", generated)
    yield Delta("", generated, finish_reason or "stop")


class SseDataLines:
    """Server-sent events arriving as arbitrary byte pieces (SageMaker's payload parts split the
    stream anywhere): feed pieces, get the data fields of complete lines. Only the unfinished line
    is kept between pieces, and it is bounded, so the work is linear in the stream's length."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._max_line_bytes = max_line_bytes

    def feed(self, piece: bytes) -> list[str]:
        data = []
        start = 0
        while (end := piece.find(b"\n", start)) != -1:
            line = b"".join([*self._pending, piece[start:end]])
            self._pending, self._pending_bytes = [], 0
            if line.startswith(b"data:"):
                data.append(line[5:].strip().decode())
            start = end + 1
        rest = piece[start:]
        if rest:
            self._pending.append(rest)
            self._pending_bytes += len(rest)
            if self._pending_bytes > self._max_line_bytes:
                raise UpstreamError(f"the engine sent a stream line over {self._max_line_bytes} bytes")
        return data
