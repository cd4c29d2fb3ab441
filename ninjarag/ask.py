"""`ninjarag ask`: send a question to the running gateway and print the streamed answer."""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from collections.abc import AsyncIterator, Callable

import httpx

from ninjarag.client import GatewayProblem, answer_events
from ninjarag.errors import UserError
from services.common.contracts.answer import (
    AnswerEvent,
    AnswerRequest,
    CitationsEvent,
    DoneEvent,
    ErrorEvent,
    SentenceEvent,
    SourcesEvent,
)


def ask(gateway_url: str, question: str, api_key: str | None, top_k: int, echo: Callable[[str], None],
        collection: str | None = None) -> None:
    request = AnswerRequest(question=question, top_k=top_k, stream=True, collection=collection)
    try:
        asyncio.run(_ask(gateway_url, request, api_key, echo))
    except httpx.ConnectError:
        raise UserError(f"no gateway answers at {gateway_url}: start the stack with `ninjarag up`") from None


# Text from the service (model output, passage titles) never reaches the terminal as escape codes.
_TERMINAL_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)])


def printable(text: str) -> str:
    return text.translate(_TERMINAL_CONTROLS)


async def _ask(gateway_url: str, request: AnswerRequest, api_key: str | None, echo: Callable[[str], None]) -> None:
    async with httpx.AsyncClient(base_url=gateway_url, timeout=httpx.Timeout(300, connect=5)) as client:
        await print_answer(client, request, api_key, echo)


async def print_answer(client: httpx.AsyncClient, request: AnswerRequest, api_key: str | None,
                       echo: Callable[[str], None]) -> None:
    try:
        # aclosing: leaving early (an error event, a done) closes the HTTP stream here, not in the
        # event loop's shutdown, where it failed with "athrow(): asynchronous generator is already running".
        async with aclosing(answer_events(client, request, api_key, fresh=False)) as events:
            await _print_events(events, echo)
    except GatewayProblem as problem:
        status = f"{problem.status} " if problem.status else ""
        raise UserError(printable(f"gateway answered {status}{problem.type}: {problem.detail}")) from None


async def _print_events(events: AsyncIterator[AnswerEvent], echo: Callable[[str], None]) -> None:
    retrieved = 0
    async for event in events:
        if isinstance(event, SourcesEvent):
            retrieved = len(event.sources)
        elif isinstance(event, SentenceEvent):
            echo(printable(event.text))
        elif isinstance(event, CitationsEvent):
            echo("\nSources:")
            for source in event.citations:
                echo(printable(f"  [{source.n}] {source.title or source.id}"))
        elif isinstance(event, DoneEvent):
            timings = ", ".join(f"{stage} {ms:.0f} ms" for stage, ms in event.timings_ms.items())
            echo(f"\n({event.verdict}; {retrieved} passages retrieved; {timings})")
            return
        elif isinstance(event, ErrorEvent):
            raise UserError(printable(f"the answer failed: {event.type}: {event.message}"))
    raise UserError("the gateway closed the stream without a final event")
