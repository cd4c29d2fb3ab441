"""Generation: admission, packing, the engine stream, usage and timing."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

from services.common.contracts.generate import GenerateDone, GenerateRequest, TokenEvent, Usage
from services.common.admission import AdmissionLimit
from services.common.errors import InvalidRequest
from services.generator.engine import Engine, Sampling
from services.generator.metrics import ADMITTED, BUCKET_CHOSEN, PADDING_WASTE, TIME_TO_FIRST_TOKEN
from services.generator.packing import ContextPacker, PackedPrompt, PromptTooLong


class GenerationService:
    def __init__(self, engine: Engine, packer: ContextPacker, max_admitted: int) -> None:
        self.engine = engine
        self.packer = packer
        # Bounded admission instead of an unbounded queue.
        self.admission = AdmissionLimit(max_admitted, "generations in progress or queued", retry_after_s=2,
                                        gauge=ADMITTED)

    def pack(self, request: GenerateRequest) -> PackedPrompt:
        limit = self.packer.max_model_len - 16
        if request.max_tokens > limit:
            raise InvalidRequest(
                f"max_tokens={request.max_tokens} leaves no room for a prompt: this model serves at most "
                f"{self.packer.max_model_len} tokens in all; ask for at most {limit}"
            )
        try:
            return self.packer.pack(request.question, request.passages, request.max_tokens, request.packing)
        except PromptTooLong as exc:
            raise InvalidRequest(str(exc)) from None

    async def events(self, request: GenerateRequest, packed: PackedPrompt) -> AsyncIterator[TokenEvent | GenerateDone]:
        """Token events, then one GenerateDone. Closing this iterator aborts the generation."""
        started = time.perf_counter()
        first_token_at = None
        index = 0
        completion_tokens, finish_reason = 0, "abort"
        sampling = Sampling(max_tokens=request.max_tokens, temperature=request.temperature)
        stream = self.engine.stream(uuid.uuid4().hex, packed.token_ids, sampling)
        try:
            async for delta in stream:
                completion_tokens = delta.completion_tokens
                if delta.text:
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                    yield TokenEvent(index=index, text=delta.text)
                    index += 1
                if delta.finish_reason:
                    finish_reason = delta.finish_reason
        finally:
            await stream.aclose()
        ended = time.perf_counter()
        ttft_ms = ((first_token_at or ended) - started) * 1000
        TIME_TO_FIRST_TOKEN.labels(str(packed.bucket)).observe(ttft_ms / 1000)
        BUCKET_CHOSEN.labels(str(packed.bucket), request.packing).inc()
        PADDING_WASTE.observe(packed.padding_waste)
        yield GenerateDone(
            usage=Usage(prompt_tokens=packed.prompt_tokens, completion_tokens=completion_tokens, bucket=packed.bucket,
                        padding_waste=packed.padding_waste, passages_used=[p.id for p in packed.passages]),
            finish_reason="length" if finish_reason == "length" else "stop",
            ttft_ms=round(ttft_ms, 2),
            total_ms=round((ended - started) * 1000, 2),
            model=self.engine.model_name,
        )

