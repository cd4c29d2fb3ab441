"""The generator's HTTP routes: parse, take an admission permit, stream or collect the generation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request

from services.common.contracts.generate import GenerateDone, GenerateRequest, GenerateResponse, ModelInfo
from services.common.disconnect import unless_disconnected
from services.common.streaming import ClosingEventSourceResponse
from services.generator.deps import Generator

router = APIRouter(prefix="/v1")


@router.get("/model", response_model=ModelInfo)
async def model(generator: Generator) -> ModelInfo:
    """What the answer cache keys on: the model being served."""
    return generator.model_info()


@router.post("/generate", response_model=GenerateResponse,
             responses={200: {"content": {"text/event-stream": {}}, "description": "token events, then done"}})
async def generate(request: GenerateRequest, http_request: Request, generator: Generator):  # noqa: ANN201 - JSON or a stream
    # Tokenising ~1,000-token prompts takes milliseconds of CPU: off the event loop.
    packed = await asyncio.to_thread(generator.pack, request)
    permit = generator.admission.acquire()
    if request.stream:
        async def event_stream() -> AsyncIterator[dict]:
            async for event in generator.events(request, packed):
                yield {"event": event.event, "data": event.model_dump_json()}

        # The response owns the permit: released when it closes, even when the client left before the first byte.
        return ClosingEventSourceResponse(event_stream(), on_close=permit.release)

    async def collect() -> GenerateResponse:
        text, done = [], None
        async for event in generator.events(request, packed):
            if isinstance(event, GenerateDone):
                done = event
            else:
                text.append(event.text)
        return GenerateResponse(text="".join(text), **done.model_dump(exclude={"event"}))

    try:
        return await unless_disconnected(http_request, collect())  # a client gone aborts the generation
    finally:
        permit.release()
