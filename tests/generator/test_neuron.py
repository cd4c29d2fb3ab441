"""The Neuron configuration renders the documented keys (no Neuron device here)."""

import json
from pathlib import Path

from services.generator.neuron import NeuronServing


def serving() -> NeuronServing:
    return NeuronServing(Path("/models/llama-3-8b"), max_model_len=4096, max_num_seqs=8, tp_degree=8,
                         buckets=[128, 256, 512, 1024, 2048, 4096, 8192], compiled_artifacts=Path("/neff"))


def test_override_neuron_config_has_the_nxdi_keys():
    config = serving().override_neuron_config()
    assert config == {
        "enable_bucketing": True,
        "context_encoding_buckets": [128, 256, 512, 1024, 2048, 4096],
        "token_generation_buckets": [128, 256, 512, 1024, 2048, 4096],
        "max_context_length": 4096,
        "seq_len": 4096,
        "batch_size": 8,
        "ctx_batch_size": 1,
        "tp_degree": 8,
        "is_continuous_batching": True,
    }


def test_engine_kwargs_pass_it_through_additional_config():
    kwargs = serving().engine_kwargs()
    assert kwargs["tensor_parallel_size"] == 8 and kwargs["max_num_seqs"] == 8 and kwargs["max_model_len"] == 4096
    assert kwargs["additional_config"]["override_neuron_config"]["context_encoding_buckets"][-1] == 4096


def test_environment_for_the_legacy_path_and_compiled_artifacts():
    assert serving().environment() == {
        "NEURON_CONTEXT_LENGTH_BUCKETS": "128,256,512,1024,2048,4096",
        "NEURON_TOKEN_GEN_BUCKETS": "128,256,512,1024,2048,4096",
        "NEURON_COMPILED_ARTIFACTS": "/neff",
    }


def test_serve_args_carry_the_same_settings():
    args = serving().serve_args()
    assert "--tensor-parallel-size=8" in args and "--max-num-seqs=8" in args
    flag = next(a for a in args if a.startswith("--override-neuron-config="))
    assert json.loads(flag.split("=", 1)[1]) == serving().override_neuron_config()
