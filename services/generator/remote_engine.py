"""A remote OpenAI-compatible completions endpoint (a separate `vllm serve`, or any compatible
server) behind the same Engine interface. Closing the stream closes the connection, which makes
vLLM abort the request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from httpx_sse import aconnect_sse

from services.common.errors import UpstreamError
from services.common.http import bearer
from services.generator.completions import completion_body, deltas_from_events
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
        body = completion_body(self.model_name, prompt_token_ids, sampling)
        self._streams += 1
        try:
            async with aconnect_sse(self._client, "POST", "/v1/completions", json=body,
                                    headers={"X-Request-ID": request_id}) as source:
                if source.response.is_error:
                    await source.response.aread()
                    raise UpstreamError(
                        f"remote engine answered {source.response.status_code}: {source.response.text[:300]}")
                async for delta in deltas_from_events(sse.data async for sse in source.aiter_sse()):
                    yield delta
        finally:
            self._streams -= 1

    def unfinished_requests(self) -> int:
        return self._streams

    async def shutdown(self) -> None:
        await self._client.aclose()
