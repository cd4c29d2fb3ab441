"""In-process vLLM (AsyncLLM): continuous batching across concurrent requests. vLLM picks the
device: the CPU build here, the Neuron plugin on inf2/trn1, CUDA elsewhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from services.generator.engine import Delta, Sampling


class VllmEngine:
    def __init__(self, engine_kwargs: dict, model_name: str) -> None:
        self._engine_kwargs = engine_kwargs
        self.model_name = model_name
        self._llm = None

    async def start(self) -> None:
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        # Building the engine loads and compiles the model for tens of seconds: off the event loop.
        self._llm = await asyncio.to_thread(AsyncLLM.from_engine_args, AsyncEngineArgs(**self._engine_kwargs))

    async def stream(self, request_id: str, prompt_token_ids: list[int], sampling: Sampling) -> AsyncIterator[Delta]:
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        params = SamplingParams(max_tokens=sampling.max_tokens, temperature=sampling.temperature, seed=sampling.seed,
                                repetition_penalty=sampling.repetition_penalty, output_kind=RequestOutputKind.DELTA)
        finished, generated = False, 0
        try:
            async for output in self._llm.generate({"prompt_token_ids": prompt_token_ids}, params, request_id):
                completion = output.outputs[0]  # DELTA: only what is new since the last output
                finished = output.finished
                generated += len(completion.token_ids)
                yield Delta(completion.text, generated, completion.finish_reason if finished else None)
        finally:
            if not finished:
                await self._llm.abort(request_id)

    def unfinished_requests(self) -> int:
        return self._llm.get_num_unfinished_requests() if self._llm else 0

    async def shutdown(self) -> None:
        if self._llm is not None:
            self._llm.shutdown()
