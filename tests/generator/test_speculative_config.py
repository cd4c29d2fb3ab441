"""Speculative decoding in the engine's settings: off unless asked for, and only where it is wired."""

import pytest

from services.generator.engines import engine_kwargs
from services.generator.settings import GeneratorSettings


def test_ngram_speculation_is_off_by_default_and_refused_on_neuron():
    assert engine_kwargs(GeneratorSettings())["speculative_config"] is None
    config = engine_kwargs(GeneratorSettings(speculative="ngram", speculative_tokens=3))["speculative_config"]
    assert config == {"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_min": 2, "prompt_lookup_max": 4}
    with pytest.raises(ValueError, match="CPU and CUDA engines only"):
        GeneratorSettings(device="neuron", speculative="ngram")
