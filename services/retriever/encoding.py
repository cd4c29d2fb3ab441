"""How queries and passages are turned into token sequences before the ColBERT encoder.

- `colbert`: colbert-ai's own tokenizers: a [Q]/[D] marker after [CLS], and queries padded
  with [MASK] to `query_maxlen` (query augmentation). Right for a trained ColBERT checkpoint.
- `plain`: the encoder's own tokenization, no markers, no [MASK] padding. Right for the
  local MiniLM stand-in, which never learnt what the markers or [MASK] expansion mean
  (bench/retriever measures both; see README).

The style an index was built with is recorded in its manifest and used for its queries.
"""

from __future__ import annotations

from typing import Literal

import torch
from colbert.modeling.tokenization import DocTokenizer, QueryTokenizer
from colbert.modeling.tokenization.utils import _sort_by_length, _split_into_batches

from services.common.cpus import has_native_bf16

EncodingStyle = Literal["colbert", "plain"]
Precision = Literal["bf16", "fp32"]
PrecisionSetting = Literal["auto", "bf16", "fp32"]


def resolve_precision(setting: PrecisionSetting) -> Precision:
    """`auto`: bf16 where the CPU computes it natively, else fp32. Measured with MiniLM on 2 cores:
    with AVX512-BF16, bf16 109 vs fp32 41 passages/s; on an AVX2-only EPYC, bf16 3.6 vs fp32 21.7."""
    if setting != "auto":
        return setting
    return "bf16" if has_native_bf16() else "fp32"


class PlainQueryTokenizer(QueryTokenizer):
    def tensorize(self, batch_text, bsize=None, context=None, full_length_search=False):  # noqa: ANN001, ANN201
        encoded = self.tok(list(batch_text), padding="longest", truncation=True,
                           max_length=self.query_maxlen, return_tensors="pt")
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        return _split_into_batches(ids, mask, bsize) if bsize else (ids, mask)


class PlainDocTokenizer(DocTokenizer):
    def tensorize(self, batch_text, bsize=None):  # noqa: ANN001, ANN201
        encoded = self.tok(list(batch_text), padding="longest", truncation="longest_first",
                           max_length=self.doc_maxlen, return_tensors="pt")
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        if bsize:
            ids, mask, reverse_indices = _sort_by_length(ids, mask, bsize)
            return _split_into_batches(ids, mask, bsize), reverse_indices
        return ids, mask


class CpuAutocast:
    """Stands in for colbert-ai's MixedPrecisionManager, whose autocast is CUDA-only; embeddings are
    normalised back in fp32. Which precision pays off depends on the CPU (`resolve_precision`)."""

    def __init__(self, precision: Precision) -> None:
        self.precision = precision

    def context(self):  # noqa: ANN201 - a context manager
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16")


def configure_checkpoint(checkpoint, style: EncodingStyle, precision: Precision) -> None:  # noqa: ANN001
    """Set a loaded colbert-ai Checkpoint's tokenization style and CPU precision, in place."""
    if style == "plain":
        checkpoint.query_tokenizer = PlainQueryTokenizer(checkpoint.colbert_config, verbose=0)
        checkpoint.doc_tokenizer = PlainDocTokenizer(checkpoint.colbert_config)
    elif style != "colbert":
        raise ValueError(f"unknown encoding style {style!r}; use 'colbert' or 'plain'")
    checkpoint.amp_manager = CpuAutocast(precision)


def passage_text(title: str, text: str) -> str:
    """What the encoder and BM25 see for a passage: its title carries the topic."""
    return f"{title} | {text}" if title else text
