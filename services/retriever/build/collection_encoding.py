"""Passage encoding for index builds: batches of similar length, a progress bar, and the k-means
sample encoded once.

colbert-ai's CollectionEncoder hands 50 batches at a time to `docFromText`, which pads all of
them to the longest passage among the 50 before sorting: on the demo corpus (107 tokens on
average, 196 at most) most of the encoder's work was padding. Here passages are sorted by token
length and each batch is padded only to its own longest, which gives the same embeddings (the
attention mask hides padding) at about twice the speed on 2 cores (bench/indexing.py).

colbert-ai also encodes the passages it samples for k-means twice: once for the sample, again in
the main pass. The sample's embeddings are kept (fp16, which is what the index stores) and reused.
"""

from __future__ import annotations

import sys

import torch
from colbert.indexing.collection_encoder import CollectionEncoder
from tqdm import tqdm


class LengthSortedEncoder(CollectionEncoder):
    def __init__(self, config, checkpoint) -> None:  # noqa: ANN001 - colbert-ai's types
        super().__init__(config, checkpoint)
        self.remembering = False
        self.remembered: dict[str, torch.Tensor] = {}
        self.bar: tqdm | None = None

    def start_phase(self, description: str, total: int, remember: bool = False) -> None:
        """One progress bar per phase (the k-means sample, then all passages across colbert's chunks);
        in a log, a redraw every 5 s keeps prepare's 10 s status line current."""
        self.end_phase()
        self.remembering = remember
        self.bar = tqdm(total=total, desc=description, unit="passage", file=sys.stderr,
                        mininterval=2.0 if sys.stderr.isatty() else 5.0, dynamic_ncols=True)

    def end_phase(self) -> None:
        if self.bar is not None:
            self.bar.close()
        self.bar = None
        self.remembering = False

    def forget(self) -> None:
        self.remembered.clear()

    def encode_passages(self, passages: list[str]):  # noqa: ANN201 - (embeddings, doclens) as colbert-ai's
        if not passages:
            return None, None
        per_passage: list[torch.Tensor | None] = [self._remembered(text) for text in passages]
        todo = [index for index, found in enumerate(per_passage) if found is None]
        self._advance(len(passages) - len(todo))
        for batch in self._length_sorted_batches([passages[index] for index in todo], todo):
            # Views into one tensor per batch: a tensor per passage costs millions of page faults.
            for index, embeddings in zip(batch, self._encode_batch([passages[index] for index in batch]), strict=True):
                per_passage[index] = embeddings
                if self.remembering:
                    self.remembered[passages[index]] = embeddings.half()
            self._advance(len(batch))
        return torch.cat(per_passage), [embeddings.size(0) for embeddings in per_passage]

    def _remembered(self, text: str) -> torch.Tensor | None:
        kept = self.remembered.get(text)
        return None if kept is None else kept.float()

    def _length_sorted_batches(self, texts: list[str], indices: list[int]) -> list[list[int]]:
        if not texts:  # all remembered: a small collection is sampled whole
            return []
        tokenizer = self.checkpoint.doc_tokenizer.tok
        lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=self.config.doc_maxlen)["input_ids"]]
        ordered = [index for _, index in sorted(zip(lengths, indices, strict=True))]
        size = self.config.index_bsize
        return [ordered[start:start + size] for start in range(0, len(ordered), size)]

    def _encode_batch(self, texts: list[str]) -> tuple[torch.Tensor, ...]:
        """Each passage's embeddings without padding and punctuation (colbert-ai's skiplist), in order."""
        ids, mask = self.checkpoint.doc_tokenizer.tensorize(texts)
        with torch.inference_mode():
            embeddings, kept = self.checkpoint.doc(ids, mask, keep_dims="return_mask")
        kept = kept.squeeze(-1)
        return embeddings[kept].float().split(kept.sum(-1).tolist())

    def _advance(self, count: int) -> None:
        if self.bar is not None and count:
            self.bar.update(count)
