"""Work done for a client that is gone is wasted: a JSON (non-streamed) answer is cancelled when
its client hangs up, which closes the generation stream and aborts it upstream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request

from services.common.errors import NinjaragError

T = TypeVar("T")


class ClientDisconnected(NinjaragError):
    type, title, status = "client_disconnected", "The client closed the connection", 499


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """The result of `work`, or ClientDisconnected once the client hung up and `work` was cancelled
    (its cleanup awaited, so an upstream generation is aborted before this returns)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        raise ClientDisconnected("the client hung up; the work was cancelled")
    return task.result()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass
