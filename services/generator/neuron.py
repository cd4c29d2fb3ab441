"""vLLM settings for AWS Inferentia2 / Trainium: the bucket ladder as compiled Neuron buckets, for
the Neuron software stack the deployment runs.

Two stacks are current, and they read the ladder under different keys (docs/deploy.md has the
support matrix and its sources):
- `nxdi`: vLLM 0.13 with the vllm-neuron 0.4.x plugin on NxD Inference, Neuron SDK 2.28. From SDK
  2.29 NxD Inference runs only on Trn2 and newer, so Inf2 and Trn1 stay on this release. The
  plugin takes NxDI's NeuronConfig fields in `additional_config.override_neuron_config`
  (`enable_bucketing`, `context_encoding_buckets`, `token_generation_buckets`, ...); precompiled
  NEFFs load from `NEURON_COMPILED_ARTIFACTS`.
- `native`: the vLLM Neuron plugin of SDK 2.32 (vLLM 0.24, the torch.compile route), Trn2 and
  Trn3 only. Its options live in `additional_config.neuron_config`: `num_batched_tokens_buckets`
  (prefill, the largest equal to max_num_batched_tokens) and `num_seqs_buckets` (decode batch
  sizes, the largest equal to max_num_seqs). Compiled graphs are cached under VLLM_CACHE_ROOT and
  shared between nodes through `NEURON_LIBTORCH_REMOTE_CACHE`.
No Neuron device is available here: this renders the configuration; tests check its keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from services.generator.buckets import bucket_ladder

StackName = Literal["nxdi", "native"]


@dataclass(frozen=True)
class NeuronStack:
    name: StackName
    sdk: str
    vllm: str
    plugin: str
    instance_families: tuple[str, ...]
    # The AWS Neuron deep learning container the generator-neuron image is built on.
    base_image: str

    def describe(self) -> str:
        return (f"Neuron stack {self.name!r}: Neuron SDK {self.sdk}, vLLM {self.vllm}, {self.plugin}; "
                f"runs on {', '.join(self.instance_families)}")


STACKS: dict[str, NeuronStack] = {
    "nxdi": NeuronStack(
        "nxdi", sdk="2.28", vllm="0.13", plugin="vllm-neuron 0.4.x on NxD Inference",
        instance_families=("inf2", "trn1", "trn2"),
        base_image="public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.13.0-neuronx-py312-sdk2.28.0-ubuntu24.04"),
    "native": NeuronStack(
        "native", sdk="2.32", vllm="0.24", plugin="vllm-neuron 0.24.0.1.1.0 (torch.compile route)",
        instance_families=("trn2", "trn3"),
        base_image="public.ecr.aws/neuron/pytorch-inference-vllm-neuronx:0.24.0.1.1.0-neuronx-py313-sdk2.32.0-ubuntu24.04"),
}


def powers_of_two_up_to(limit: int) -> list[int]:
    """1, 2, 4, ... below limit, then limit itself: the native plugin's default decode batch buckets."""
    sizes, size = [], 1
    while size < limit:
        sizes.append(size)
        size *= 2
    return sizes + [limit]


@dataclass(frozen=True)
class NeuronServing:
    model_path: Path
    max_model_len: int
    max_num_seqs: int
    tp_degree: int
    buckets: list[int]
    compiled_artifacts: Path | None = None
    stack_name: StackName = "nxdi"
    max_num_batched_tokens: int | None = None

    @property
    def stack(self) -> NeuronStack:
        return STACKS[self.stack_name]

    @property
    def ladder(self) -> list[int]:
        return bucket_ladder(self.buckets, self.max_model_len)

    def override_neuron_config(self) -> dict:
        """NxD Inference's NeuronConfig fields (the `nxdi` stack)."""
        return {
            "enable_bucketing": True,
            "context_encoding_buckets": self.ladder,
            "token_generation_buckets": self.ladder,
            "max_context_length": self.max_model_len,
            "seq_len": self.max_model_len,
            "batch_size": self.max_num_seqs,
            "ctx_batch_size": 1,
            "tp_degree": self.tp_degree,
            "is_continuous_batching": True,
        }

    def native_neuron_config(self) -> dict:
        """The native plugin's bucket options (the `native` stack)."""
        return {
            "num_batched_tokens_buckets": bucket_ladder(self.buckets, self._batched_tokens()),
            "num_seqs_buckets": powers_of_two_up_to(self.max_num_seqs),
        }

    def additional_config(self) -> dict:
        if self.stack_name == "nxdi":
            return {"override_neuron_config": self.override_neuron_config()}
        return {"neuron_config": self.native_neuron_config()}

    def engine_kwargs(self) -> dict:
        """Keyword arguments for vLLM's AsyncEngineArgs with the stack's vllm-neuron plugin."""
        kwargs = {
            "model": str(self.model_path),
            "tensor_parallel_size": self.tp_degree,
            "max_num_seqs": self.max_num_seqs,
            "max_model_len": self.max_model_len,
            "additional_config": self.additional_config(),
        }
        if self.stack_name == "nxdi":
            # Without a blockwise KV layout the NxDI plugin needs the KV block to span the sequence.
            kwargs["block_size"] = self.max_model_len
        else:
            kwargs["max_num_batched_tokens"] = self._batched_tokens()
        return kwargs

    def environment(self) -> dict[str, str]:
        if not self.compiled_artifacts:
            return {}
        variable = "NEURON_COMPILED_ARTIFACTS" if self.stack_name == "nxdi" else "NEURON_LIBTORCH_REMOTE_CACHE"
        return {variable: str(self.compiled_artifacts)}

    def _batched_tokens(self) -> int:
        return self.max_num_batched_tokens or self.max_model_len
