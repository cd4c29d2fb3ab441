"""The bucket ladder: the prompt lengths a prefill is padded to (compiled once each on Neuron)."""

from __future__ import annotations


def bucket_ladder(buckets: list[int], max_model_len: int) -> list[int]:
    """The configured buckets up to max_model_len, with max_model_len itself as the last rung."""
    return sorted({b for b in buckets if b < max_model_len} | {max_model_len})
