"""The one async HTTP client services use to call each other.

Timeouts on every call; retries with backoff only where the caller says the call is
idempotent (search, guard), never for generation; the request id travels along.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import TypeVar

import httpx
from httpx_sse import aconnect_sse
from pydantic import BaseModel
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from services.common.errors import NinjaragError, UpstreamError, UpstreamTimeout, problem_from_response
from services.common.metrics import UPSTREAM_CALLS
from services.common.request_context import REQUEST_ID_HEADER, current_request_id

log = logging.getLogger(__name__)
ResponseT = TypeVar("ResponseT", bound=BaseModel)

_RETRYABLE_STATUS = frozenset({502, 503, 504})


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header for a bearer token (an API key, the service token), or none."""
    return {"Authorization": f"Bearer {token}"} if token else {}


class _RetryableStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, (_RetryableStatus, httpx.TransportError))


class ServiceClient:
    def __init__(
        self,
        caller: str,
        upstream: str,
        base_url: str,
        *,
        timeout_s: float,
        attempts: int = 3,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.caller = caller
        self.upstream = upstream
        self.attempts = attempts
        self._auth = bearer(token)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(5.0, timeout_s)),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _headers(self) -> dict[str, str]:
        request_id = current_request_id()
        return {**self._auth, REQUEST_ID_HEADER: request_id} if request_id else dict(self._auth)

    async def post_json(
        self, path: str, body: BaseModel, response_model: type[ResponseT], *, idempotent: bool
    ) -> ResponseT:
        payload = body.model_dump(mode="json")
        response = await self._send("POST", path, payload, idempotent=idempotent)
        return response_model.model_validate(response.json())

    async def get_json(self, path: str, response_model: type[ResponseT], params: dict | None = None) -> ResponseT:
        response = await self._send("GET", path, None, idempotent=True, params=params)
        return response_model.model_validate(response.json())

    async def call(self, method: str, path: str, response_model: type[ResponseT] | None = None, *,
                   body: BaseModel | None = None, files: list | None = None, idempotent: bool = False) -> ResponseT | None:
        """Any other call (DELETE, an upload of `files` as multipart parts): the parsed response, if any."""
        payload = body.model_dump(mode="json") if body is not None else None
        response = await self._send(method, path, payload, idempotent=idempotent, files=files)
        return response_model.model_validate(response.json()) if response_model else None

    async def _send(self, method: str, path: str, payload: object, *, idempotent: bool, params: dict | None = None,
                    files: list | None = None) -> httpx.Response:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts if idempotent else 1),
            wait=wait_exponential_jitter(initial=0.1, max=2.0),
            retry=retry_if_exception(_is_retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    response = await self._client.request(method, path, json=payload, params=params, files=files,
                                                          headers=self._headers())
                    if response.status_code in _RETRYABLE_STATUS:
                        raise _RetryableStatus(response)
        except _RetryableStatus as exc:
            self._count("error")
            raise self._error_from(exc.response) from None
        except httpx.TransportError as exc:
            self._count("unreachable")
            raise self._transport_error(exc) from exc
        if response.is_error:
            self._count("error")
            raise self._error_from(response)
        self._count("ok")
        return response

    async def stream_events(self, path: str, body: BaseModel) -> AsyncIterator[tuple[str, dict]]:
        """POST and yield (event, data) from a Server-Sent Events stream. Never retried."""
        try:
            async with aconnect_sse(
                self._client, "POST", path, json=body.model_dump(mode="json"), headers=self._headers()
            ) as source:
                if source.response.is_error:
                    await source.response.aread()
                    self._count("error")
                    raise self._error_from(source.response)
                async for sse in source.aiter_sse():
                    yield sse.event, json.loads(sse.data) if sse.data else {}
        except httpx.TransportError as exc:
            self._count("unreachable")
            raise self._transport_error(exc) from exc
        self._count("ok")

    def _count(self, outcome: str) -> None:
        UPSTREAM_CALLS.labels(self.caller, self.upstream, outcome).inc()

    def _error_from(self, response: httpx.Response) -> NinjaragError:
        try:
            body = response.json()
        except ValueError:
            body = response.text[:300]
        return problem_from_response(self.upstream, response.status_code, body)

    def _transport_error(self, exc: httpx.TransportError) -> NinjaragError:
        # The address goes to the log only: errors travel on to clients, who need not learn internal hosts.
        log.warning("%s at %s: %s: %s", self.upstream, self._client.base_url, type(exc).__name__, exc)
        if isinstance(exc, httpx.TimeoutException):
            return UpstreamTimeout(f"{self.upstream} did not answer in time ({type(exc).__name__})")
        return UpstreamError(f"cannot reach {self.upstream} ({type(exc).__name__})")
