"""The generator's serving class: admission, packing, the engine stream, usage and timing. Light to
construct; `warm_up` loads the tokenizer, starts the engine and runs one generation end to end;
`aclose` shuts the engine down."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

from services.common.admission import AdmissionLimit
from services.common.contracts.generate import GenerateDone, GenerateRequest, ModelInfo, TokenEvent, Usage
from services.common.errors import InvalidRequest
from services.generator.engine import Engine, Sampling
from services.generator.metrics import ADMITTED, BUCKET_CHOSEN, ENGINE_UNFINISHED, PADDING_WASTE, TIME_TO_FIRST_TOKEN
from services.generator.model_folder import load_tokenizer
from services.generator.packing import ContextPacker, PackedPrompt, PromptTooLong, build_packer
from services.generator.settings import GeneratorSettings


class GenerationService:
    def __init__(self, settings: GeneratorSettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.packer: ContextPacker | None = None  # the model's tokenizer: loaded by warm_up
        # Bounded admission instead of an unbounded queue.
        self.admission = AdmissionLimit(settings.max_num_seqs + settings.max_queued,
                                        "generations in progress or queued", retry_after_s=2, gauge=ADMITTED)

    async def warm_up(self) -> str:
        settings = self.settings
        tokenizer = await asyncio.to_thread(load_tokenizer, settings.model_path)
        self.packer = build_packer(settings, tokenizer)
        await self.engine.start()
        # Ready only once a generation went through end to end.
        warm = GenerateRequest(question="Say hello.", max_tokens=4)
        async for _ in self.events(warm, self.pack(warm)):
            pass
        ENGINE_UNFINISHED.set_function(self.engine.unfinished_requests)
        return f"{self.engine.model_name} on {settings.device}, max_model_len {settings.max_model_len}"

    async def aclose(self) -> None:
        await self.engine.shutdown()

    def model_info(self) -> ModelInfo:
        return ModelInfo(model=self.engine.model_name, max_model_len=self.packer.max_model_len,
                         prompt_template=self.packer.template.name)

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
        sampling = Sampling(max_tokens=request.max_tokens, temperature=request.temperature,
                            repetition_penalty=self.settings.repetition_penalty)
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

