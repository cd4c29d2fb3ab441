"""Which engine the generator's settings name, and the process environment it needs."""

from __future__ import annotations

import logging
import os

from services.generator.engine import Engine
from services.generator.neuron import NeuronServing
from services.generator.remote_engine import RemoteEngine
from services.generator.settings import GeneratorSettings
from services.generator.vllm_engine import VllmEngine

logger = logging.getLogger(__name__)


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
                         settings.buckets, settings.neuron_compiled_artifacts, settings.neuron_stack,
                         settings.max_num_batched_tokens)


def engine_kwargs(settings: GeneratorSettings) -> dict:
    return _device_engine_kwargs(settings) | {"stream_interval": settings.stream_interval}


def speculative_config(settings: GeneratorSettings) -> dict | None:
    if settings.speculative == "off":
        return None
    # Drafts need a match of at least 2 and at most 4 tokens in the prompt (vLLM's prompt lookup).
    return {"method": "ngram", "num_speculative_tokens": settings.speculative_tokens,
            "prompt_lookup_min": 2, "prompt_lookup_max": 4}


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
        "speculative_config": speculative_config(settings),
    }


def build_engine(settings: GeneratorSettings) -> Engine:
    if settings.engine == "remote":
        return RemoteEngine(settings.remote_url, settings.model_name, settings.http_timeout_s, settings.remote_api_key)
    if settings.engine == "sagemaker":
        # Imported here: boto3 is needed only by deployments that use it.
        from services.generator.sagemaker_engine import SageMakerEngine
        return SageMakerEngine(settings.sagemaker_endpoint, settings.model_name, settings.http_timeout_s,
                               max_streams=settings.max_num_seqs + settings.max_queued,
                               region=settings.sagemaker_region, endpoint_url=settings.sagemaker_endpoint_url,
                               target_variant=settings.sagemaker_target_variant)
    if settings.device == "neuron":
        neuron = neuron_serving(settings)
        logger.info(neuron.stack.describe())
        os.environ.update(neuron.environment())
    return VllmEngine(engine_kwargs(settings), settings.model_name)
