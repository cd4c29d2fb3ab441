"""Generator app factory: POST /v1/generate, streamed (SSE) or as one JSON document."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from services.common.app import ReadinessState, build_service_app
from services.common.contracts.generate import GenerateDone, GenerateRequest, GenerateResponse, ModelInfo
from services.common.disconnect import unless_disconnected
from services.common.errors import NotReady
from services.common.streaming import ClosingEventSourceResponse
from services.generator.engine import Engine
from services.generator.metrics import ENGINE_UNFINISHED
from services.generator.model_folder import load_tokenizer
from services.generator.neuron import NeuronServing
from services.generator.packing import build_packer
from services.generator.remote_engine import RemoteEngine
from services.generator.service import GenerationService
from services.generator.settings import GeneratorSettings
from services.generator.vllm_engine import VllmEngine

log = logging.getLogger(__name__)


def vllm_environment(settings: GeneratorSettings) -> dict[str, str]:
    """vLLM's CPU knobs, and its caches kept in the project instead of ~/.cache and /tmp."""
    environment = {
        "VLLM_CPU_KVCACHE_SPACE": str(settings.kv_cache_gib),
        # Threads are bounded by OMP_NUM_THREADS (GENERATOR_CPU_THREADS), not pinned to cores
        # this service would then assume it owns.
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
        "VLLM_CACHE_ROOT": str(settings.vllm_cache_dir),
        "TORCHINDUCTOR_CACHE_DIR": str(settings.vllm_cache_dir / "inductor"),
        # vLLM 0.32's AOT-compiled artifact fails to load on the CPU backend ("'function' object has
        # no attribute 'finalize_loading'") and the model is compiled again at every start (~2 min on
        # 2 cores). Without AOT, the Inductor cache above serves restarts: engine init 148 -> 31 s.
        "VLLM_USE_AOT_COMPILE": "0",
        "VLLM_NO_USAGE_STATS": "1",
        "HF_HUB_OFFLINE": "1",
    }
    if settings.device == "cpu":
        # Otherwise vLLM's CPU platform runs the model in a worker process that the engine core
        # busy-polls over shared memory (and the worker polls back for 1 s after every step):
        # on a few cores those spins take CPU from the model's own threads. With 0 the worker
        # runs inside the engine-core process (AsyncLLM still keeps that apart from the server):
        # single-request decode 1.7x faster on 2 cores, and an idle engine stops spinning.
        environment["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
    return environment


def neuron_serving(settings: GeneratorSettings) -> NeuronServing:
    return NeuronServing(settings.model_path, settings.max_model_len, settings.max_num_seqs, settings.tp_degree,
                         settings.buckets, settings.neuron_compiled_artifacts)


def engine_kwargs(settings: GeneratorSettings) -> dict:
    return _device_engine_kwargs(settings) | {"stream_interval": settings.stream_interval}


def _device_engine_kwargs(settings: GeneratorSettings) -> dict:
    if settings.device == "neuron":
        return neuron_serving(settings).engine_kwargs()
    return {
        "model": str(settings.model_path),
        "served_model_name": [settings.model_name],
        "dtype": settings.engine_dtype,
        "max_model_len": settings.max_model_len,
        "max_num_seqs": settings.max_num_seqs,
        "max_num_batched_tokens": settings.max_num_batched_tokens or max(settings.max_model_len, 2048),
        "enforce_eager": settings.enforce_eager,
        "seed": 0,
        "disable_log_stats": True,
    }


def build_engine(settings: GeneratorSettings) -> Engine:
    if settings.engine == "remote":
        return RemoteEngine(settings.remote_url, settings.model_name, settings.http_timeout_s, settings.remote_api_key)
    if settings.device == "neuron":
        os.environ.update(neuron_serving(settings).environment())
    return VllmEngine(engine_kwargs(settings), settings.model_name)


def create_app(settings: GeneratorSettings, engine: Engine | None = None) -> FastAPI:
    settings.apply_cpu_threads()
    for key, value in vllm_environment(settings).items():
        os.environ.setdefault(key, value)
    readiness = ReadinessState("engine")
    engine = engine or build_engine(settings)
    holder: dict[str, GenerationService] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def start() -> str:
            tokenizer = await asyncio.to_thread(load_tokenizer, settings.model_path)
            packer = build_packer(settings, tokenizer)
            await engine.start()
            service = GenerationService(engine, packer, settings.max_num_seqs + settings.max_queued)
            # Ready only once a generation went through end to end.
            warm = GenerateRequest(question="Say hello.", max_tokens=4)
            async for _ in service.events(warm, service.pack(warm)):
                pass
            holder["service"] = service
            ENGINE_UNFINISHED.set_function(engine.unfinished_requests)
            return f"{engine.model_name} on {settings.device}, max_model_len {settings.max_model_len}"

        warm_up = readiness.warm_up("engine", start)
        yield
        warm_up.cancel()
        await engine.shutdown()

    app = build_service_app("generator", settings, readiness=readiness, lifespan=lifespan)

    def service() -> GenerationService:
        if "service" not in holder:
            raise NotReady(f"the engine is not ready: {readiness.report('generator').checks['engine']}", retry_after_s=5)
        return holder["service"]

    @app.get("/v1/model", response_model=ModelInfo)
    async def model() -> ModelInfo:
        """What the answer cache keys on: the model being served."""
        current = service()
        return ModelInfo(model=current.engine.model_name, max_model_len=current.packer.max_model_len,
                         prompt_template=current.packer.template.name)

    @app.post("/v1/generate", response_model=GenerateResponse,
              responses={200: {"content": {"text/event-stream": {}}, "description": "token events, then done"}})
    async def generate(request: GenerateRequest, http_request: Request):  # noqa: ANN202 - JSON or an event stream
        current = service()
        # Tokenising ~1,000-token prompts takes milliseconds of CPU: off the event loop.
        packed = await asyncio.to_thread(current.pack, request)
        permit = current.admission.acquire()
        if request.stream:
            async def event_stream() -> AsyncIterator[dict]:
                async for event in current.events(request, packed):
                    yield {"event": event.event, "data": event.model_dump_json()}

            # Released when the response closes, even when the client left before the first byte.
            return ClosingEventSourceResponse(event_stream(), on_close=permit.release)

        async def collect() -> GenerateResponse:
            text, done = [], None
            async for event in current.events(request, packed):
                if isinstance(event, GenerateDone):
                    done = event
                else:
                    text.append(event.text)
            return GenerateResponse(text="".join(text), **done.model_dump(exclude={"event"}))

        try:
            return await unless_disconnected(http_request, collect())  # a client gone aborts the generation
        finally:
            permit.release()

    return app
