"""The Neuron configuration renders the keys each Neuron stack reads (no Neuron device here)."""

from pathlib import Path

import pytest

from services.generator.engines import neuron_serving
from services.generator.neuron import STACKS, NeuronServing, powers_of_two_up_to
from services.generator.settings import GeneratorSettings


def serving(stack: str = "nxdi", **overrides) -> NeuronServing:
    values = dict(model_path=Path("/models/llama-3-8b"), max_model_len=4096, max_num_seqs=8, tp_degree=8,
                  buckets=[128, 256, 512, 1024, 2048, 4096, 8192], compiled_artifacts=Path("/neff"),
                  stack_name=stack) | overrides
    return NeuronServing(**values)


def test_the_nxdi_stack_passes_nxdi_neuron_config_fields_through_override_neuron_config():
    kwargs = serving("nxdi").engine_kwargs()
    assert kwargs["additional_config"] == {"override_neuron_config": {
        "enable_bucketing": True,
        "context_encoding_buckets": [128, 256, 512, 1024, 2048, 4096],
        "token_generation_buckets": [128, 256, 512, 1024, 2048, 4096],
        "max_context_length": 4096,
        "seq_len": 4096,
        "batch_size": 8,
        "ctx_batch_size": 1,
        "tp_degree": 8,
        "is_continuous_batching": True,
    }}
    assert kwargs["tensor_parallel_size"] == 8 and kwargs["max_num_seqs"] == 8 and kwargs["max_model_len"] == 4096
    assert kwargs["block_size"] == 4096 and "max_num_batched_tokens" not in kwargs
    assert serving("nxdi").environment() == {"NEURON_COMPILED_ARTIFACTS": "/neff"}


def test_the_native_stack_passes_its_buckets_through_neuron_config():
    kwargs = serving("native", max_num_batched_tokens=2048).engine_kwargs()
    # The largest prefill bucket equals max_num_batched_tokens, the largest decode bucket max_num_seqs.
    assert kwargs["additional_config"] == {"neuron_config": {
        "num_batched_tokens_buckets": [128, 256, 512, 1024, 2048],
        "num_seqs_buckets": [1, 2, 4, 8],
    }}
    assert kwargs["max_num_batched_tokens"] == 2048 and "block_size" not in kwargs
    assert serving("native").environment() == {"NEURON_LIBTORCH_REMOTE_CACHE": "/neff"}
    assert serving("native", compiled_artifacts=None).environment() == {}


@pytest.mark.parametrize(("limit", "expected"), [(1, [1]), (6, [1, 2, 4, 6]), (8, [1, 2, 4, 8])])
def test_decode_buckets_are_powers_of_two_ending_at_max_num_seqs(limit, expected):
    assert powers_of_two_up_to(limit) == expected


def test_settings_choose_the_stack_and_each_stack_says_what_it_targets():
    settings = GeneratorSettings(device="neuron", neuron_stack="native", max_num_seqs=4, max_model_len=4096,
                                 tp_degree=4)
    neuron = neuron_serving(settings)
    assert neuron.stack is STACKS["native"] and "neuron_config" in neuron.engine_kwargs()["additional_config"]
    assert "trn2" in neuron.stack.describe() and "inf2" not in neuron.stack.describe()
    assert "inf2" in STACKS["nxdi"].instance_families and "sdk2.28" in STACKS["nxdi"].base_image
    assert GeneratorSettings().neuron_stack == "nxdi"

