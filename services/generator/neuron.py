"""vLLM settings for AWS Inferentia2 / Trainium: the bucket ladder as compiled Neuron buckets.

Two generations of the Neuron integration read the same ladder in different places:
- NxD Inference through vLLM (`neuronx_distributed` model loader, and the vllm-neuron plugin):
  `override_neuron_config` with `enable_bucketing`, `context_encoding_buckets`,
  `token_generation_buckets`, `max_context_length`, `seq_len`, `batch_size`, `ctx_batch_size`,
  `tp_degree`, `is_continuous_batching` (NxDI NeuronConfig); the plugin takes it inside
  `additional_config`. Precompiled NEFFs load from `NEURON_COMPILED_ARTIFACTS`.
- The legacy transformers-neuronx path: env `NEURON_CONTEXT_LENGTH_BUCKETS` and
  `NEURON_TOKEN_GEN_BUCKETS` (comma lists).
No Neuron device is available here: this renders the configuration; tests check its keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.generator.packing import bucket_ladder


@dataclass(frozen=True)
class NeuronServing:
    model_path: Path
    max_model_len: int
    max_num_seqs: int
    tp_degree: int
    buckets: list[int]
    compiled_artifacts: Path | None = None

    @property
    def ladder(self) -> list[int]:
        return bucket_ladder(self.buckets, self.max_model_len)

    def override_neuron_config(self) -> dict:
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

    def engine_kwargs(self) -> dict:
        """Keyword arguments for vLLM's AsyncEngineArgs with the vllm-neuron plugin."""
        return {
            "model": str(self.model_path),
            "tensor_parallel_size": self.tp_degree,
            "max_num_seqs": self.max_num_seqs,
            "max_model_len": self.max_model_len,
            # With transformers-neuronx the KV block must span the whole sequence.
            "block_size": self.max_model_len,
            "additional_config": {"override_neuron_config": self.override_neuron_config()},
        }

    def environment(self) -> dict[str, str]:
        env = {
            "NEURON_CONTEXT_LENGTH_BUCKETS": ",".join(map(str, self.ladder)),
            "NEURON_TOKEN_GEN_BUCKETS": ",".join(map(str, self.ladder)),
        }
        if self.compiled_artifacts:
            env["NEURON_COMPILED_ARTIFACTS"] = str(self.compiled_artifacts)
        return env

    def serve_args(self) -> list[str]:
        """The same settings as `vllm serve` flags, for serving the model without the generator
        (the eks-inf2 overlay runs the generator itself, which passes engine_kwargs)."""
        return [
            str(self.model_path),
            f"--tensor-parallel-size={self.tp_degree}",
            f"--max-num-seqs={self.max_num_seqs}",
            f"--max-model-len={self.max_model_len}",
            f"--block-size={self.max_model_len}",
            f"--override-neuron-config={json.dumps(self.override_neuron_config(), separators=(',', ':'))}",
        ]
