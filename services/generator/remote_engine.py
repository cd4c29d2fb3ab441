"""A remote OpenAI-compatible completions endpoint (a separate `vllm serve`, or any compatible
server) behind the same Engine interface. Closing the stream closes the connection, which makes
vLLM abort the request."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
from httpx_sse import aconnect_sse

from services.common.errors import UpstreamError
from services.common.http import bearer
from services.generator.engine import Delta, Sampling


class RemoteEngine:
    def __init__(self, base_url: str, model_name: str, timeout_s: float, api_key: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.model_name = model_name
        headers = bearer(api_key)
        self._streams = 0
        self._client = httpx.AsyncClient(base_url=base_url, headers=headers, transport=transport,
                                         timeout=httpx.Timeout(timeout_s, connect=5))

    async def start(self) -> None:
        response = await self._client.get("/v1/models")
        response.raise_for_status()
        served = [model["id"] for model in response.json().get("data", [])]
        if self.model_name not in served:
            raise UpstreamError(f"the remote engine serves {served}, not {self.model_name!r}")

    async def stream(self, request_id: str, prompt_token_ids: list[int], sampling: Sampling) -> AsyncIterator[Delta]:
        body = {"model": self.model_name, "prompt": prompt_token_ids, "max_tokens": sampling.max_tokens,
                "temperature": sampling.temperature, "stream": True, "stream_options": {"include_usage": True}}
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        if sampling.repetition_penalty != 1.0:  # a vLLM extension to the OpenAI API
            body["repetition_penalty"] = sampling.repetition_penalty
        self._streams += 1
        try:
            async for delta in self._deltas(body, request_id):
                yield delta
        finally:
            self._streams -= 1

    async def _deltas(self, body: dict, request_id: str) -> AsyncIterator[Delta]:
        generated, finish_reason = 0, None
        async with aconnect_sse(self._client, "POST", "/v1/completions", json=body,
                                headers={"X-Request-ID": request_id}) as source:
            if source.response.is_error:
                await source.response.aread()
                raise UpstreamError(f"remote engine answered {source.response.status_code}: {source.response.text[:300]}")
            async for sse in source.aiter_sse():
                if sse.data == "[DONE]":
                    break
                chunk = json.loads(sse.data)
                for choice in chunk.get("choices", []):
                    finish_reason = choice.get("finish_reason") or finish_reason
                    generated += 1  # one token per chunk until the usage chunk says exactly
                    if choice.get("text"):
                        yield Delta(choice["text"], generated, None)
                if chunk.get("usage"):
                    generated = chunk["usage"].get("completion_tokens", generated)
        yield Delta("", generated, finish_reason or "stop")

    def unfinished_requests(self) -> int:
        return self._streams

    async def shutdown(self) -> None:
        await self._client.aclose()
