"""Server-Sent Events responses that give back what they hold when they close.

The body generator's `finally` is not enough: a client that hangs up before the first byte means
the generator never starts, so its `finally` never runs and a slot taken for it would leak. The
response itself always runs to its end, so that is where the slot is released."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from sse_starlette.sse import EventSourceResponse
from starlette.types import Receive, Scope, Send

PING_S = 15


class ClosingEventSourceResponse(EventSourceResponse):
    def __init__(self, events: AsyncIterator[dict], *, on_close: Callable[[], Awaitable[None] | None],
                 send_timeout_s: float | None = None) -> None:
        super().__init__(events, ping=PING_S, send_timeout=send_timeout_s)
        self._on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            closing = self._on_close()
            if closing is not None:
                await closing
