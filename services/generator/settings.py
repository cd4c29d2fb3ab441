from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.cpus import available_cpus, has_native_bf16
from services.common.paths import DEFAULT_GENERATOR_MODEL, Home
from services.common.settings import ComputeSettings
from services.generator.neuron import StackName

DEFAULT_BUCKETS = [128, 256, 512, 1024, 2048, 4096, 8192]


class GeneratorSettings(ComputeSettings):
    model_config = SettingsConfigDict(env_prefix="GENERATOR_", extra="ignore")

    port: int = Field(default=8002, ge=1, le=65535)
    # Every core the process may use: an answer's stages run one after another, and the prefill is
    # most of its CPU time (bench/load.py's table). Measured on 2 cores, generator and guard at 2
    # threads against 1: first sentence p50 at 1 client 16.2 -> 8.5 s, answers/s at 4 clients 1.4x.
    cpu_threads: int = Field(default_factory=available_cpus, ge=1)
    # A model prepared under $NINJARAG_HOME/models: a packaged base (smollm2-135m-instruct) or a fine-tune
    # that `ninjarag prepare` merged from a committed adapter (adapters/, e.g. qwen2.5-coder-0.5b-nq-v2).
    model: str = Field(default=DEFAULT_GENERATOR_MODEL, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    model_path: Path = Field(default_factory=lambda data: Home.from_env().models / data["model"])
    model_name: str = Field(default_factory=lambda data: data["model"])
    engine: Literal["vllm", "remote", "sagemaker"] = "vllm"
    remote_url: str | None = None
    remote_api_key: str | None = None
    # engine=sagemaker: a real-time endpoint serving vLLM's /invocations (sagemaker/endpoint.yaml).
    # Credentials and, unless set here, the region come from boto3's standard chain.
    sagemaker_endpoint: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    sagemaker_region: str | None = None
    # Pins one production variant; unset, SageMaker splits traffic by the variants' weights.
    sagemaker_target_variant: str | None = None
    # Another address for the SageMaker APIs: a VPC interface endpoint, or the tests' local fake.
    sagemaker_endpoint_url: str | None = None
    device: Literal["cpu", "neuron", "cuda"] = "cpu"
    # auto: bfloat16 where the CPU computes it natively (or on an accelerator), else float32.
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = "auto"
    max_model_len: int = Field(default=2048, ge=128)
    max_num_seqs: int = Field(default=16, ge=1, description="Continuous batching: sequences in one step.")
    max_num_batched_tokens: int | None = Field(default=None, ge=128)
    kv_cache_gib: int = Field(default=2, ge=1, description="VLLM_CPU_KVCACHE_SPACE on the CPU.")
    # vLLM's stream_interval: the first token goes out at once, then every N tokens in one event.
    # The gateway waits for whole sentences anyway; fewer events is less host work per token.
    stream_interval: int = Field(default=4, ge=1, le=64)
    # Sampling: above 1, tokens already in the prompt or the answer become less likely (vLLM's
    # repetition_penalty): small models otherwise say one sentence again and again.
    repetition_penalty: float = Field(default=1.0, ge=1.0, le=2.0)
    enforce_eager: bool = False
    # Speculative decoding with vLLM's n-gram (prompt lookup) proposer: drafts the next tokens by
    # copying what followed the last generated n-gram in the prompt. Off by default: on 2 cores with
    # RAG prompts it gave x1.07 output tok/s at 1 request and x0.94 at 8, TTFT x1.03-1.05, with 24-31%
    # of drafts accepted (bench/results/speculative.json).
    speculative: Literal["off", "ngram"] = "off"
    speculative_tokens: int = Field(default=4, ge=1, le=16, description="Tokens drafted per step when speculating.")
    vllm_cache_dir: Path = Field(default_factory=lambda: Home.from_env().cache / "vllm")
    # Admission: requests beyond max_num_seqs + max_queued get 503 + Retry-After.
    max_queued: int = Field(default=64, ge=0)
    prompt_template: str = "rag-v1"
    closed_book_template: str = Field(default="closed-book-v1", description="The prompt when no passages are sent.")
    buckets: list[int] = Field(default_factory=lambda: list(DEFAULT_BUCKETS))
    min_passages: int = Field(default=3, ge=0)
    max_passage_tokens: int = Field(default=256, ge=16)
    # Neuron (inf2 / trn) only.
    tp_degree: int = Field(default=1, ge=1)
    neuron_compiled_artifacts: Path | None = None
    # The Neuron software stack the image runs (services/generator/neuron.py): nxdi (SDK 2.28, the
    # last for inf2 / trn1) or native (the current vllm-neuron plugin, trn2 / trn3).
    neuron_stack: StackName = "nxdi"

    @property
    def engine_dtype(self) -> str:
        if self.dtype != "auto":
            return self.dtype
        return "bfloat16" if self.device != "cpu" or has_native_bf16() else "float32"

    @model_validator(mode="after")
    def _remote_engines_need_an_address(self) -> GeneratorSettings:
        if self.engine == "remote" and not self.remote_url:
            raise ValueError("GENERATOR_ENGINE=remote needs GENERATOR_REMOTE_URL")
        if self.speculative != "off" and self.device == "neuron":
            raise ValueError("GENERATOR_SPECULATIVE=ngram is wired for the CPU and CUDA engines only; the Neuron "
                             "stacks speculate with a draft model compiled in (fused speculation)")
        if self.engine == "sagemaker" and not self.sagemaker_endpoint:
            raise ValueError("GENERATOR_ENGINE=sagemaker needs GENERATOR_SAGEMAKER_ENDPOINT (the endpoint's name)")
        return self
