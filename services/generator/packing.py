"""The context packer: which passages go into the prompt, and how far each is truncated, so the
prompt lands in a prefill bucket.

On Neuron each prompt is padded to the smallest compiled bucket that holds it, so time to first
token follows the bucket. Policies:
- `quality`: every passage (in rank order) that fits `max_model_len - max_tokens`; the last one
  that does not fit whole is truncated to the room left; the smallest bucket that holds the prompt.
- `latency`: the smallest bucket that holds the first `min_passages` passages; then as many
  further passages as fit in that bucket (the last truncated to fill it).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Literal

from services.common.contracts.search import Passage
from services.generator.buckets import bucket_ladder
from services.generator.prompt import NumberedPassage, PromptTemplate
from services.generator.settings import GeneratorSettings

PackingPolicy = Literal["quality", "latency"]
# A passage cut shorter than this is left out rather than kept as a fragment.
MIN_TRUNCATED_TOKENS = 24


class PromptTooLong(ValueError):
    """Even the question alone does not leave room for the requested output."""


@dataclass(frozen=True)
class PackedPrompt:
    token_ids: list[int]
    passages: list[Passage]  # in prompt order: passages[i] is cited as [i+1]
    truncated: int  # passages cut short
    bucket: int
    shown: list[NumberedPassage] = field(default_factory=list)  # as rendered: the last one may be cut

    @property
    def prompt_tokens(self) -> int:
        return len(self.token_ids)

    @property
    def padding_waste(self) -> int:
        return self.bucket - self.prompt_tokens


class ContextPacker:
    def __init__(self, template: PromptTemplate, tokenizer, buckets: list[int], max_model_len: int,  # noqa: ANN001
                 max_passage_tokens: int, min_passages: int, closed_book: PromptTemplate | None = None) -> None:
        self.template = template
        # With no passages there is nothing to cite: the question alone, answered from the model's knowledge.
        self.closed_book = closed_book or template
        self.tokenizer = tokenizer
        self.buckets = bucket_ladder(buckets, max_model_len)
        self.max_model_len = max_model_len
        self.max_passage_tokens = max_passage_tokens
        self.min_passages = min_passages
        self._overhead = self._block_overhead()

    def smallest_bucket(self, tokens: int) -> int:
        return self.buckets[min(bisect.bisect_left(self.buckets, tokens), len(self.buckets) - 1)]

    def pack(self, question: str, passages: list[Passage], max_tokens: int, policy: PackingPolicy) -> PackedPrompt:
        limit = self.max_model_len - max_tokens
        if not passages:
            token_ids = self.closed_book.token_ids(question, [])
            self._check_room(len(token_ids), limit, max_tokens)
            return PackedPrompt(token_ids, [], 0, self.smallest_bucket(len(token_ids)))
        base = len(self.template.token_ids(question, []))
        self._check_room(base, limit, max_tokens)
        # Each passage's token ids, capped; the prompt grows by about its block's length.
        capped = [self._passage_tokens(p)[: self.max_passage_tokens] for p in passages]
        overhead = self._overhead
        if policy == "latency":
            first = min(self.min_passages, len(passages))
            needed = base + sum(len(ids) + overhead for ids in capped[:first])
            limit = min(limit, self.smallest_bucket(needed))
        chosen = self._fill(capped, base, overhead, limit)
        return self._finish(question, passages, chosen, limit)

    def _check_room(self, question_tokens: int, limit: int, max_tokens: int) -> None:
        if question_tokens > limit:
            raise PromptTooLong(
                f"the question alone takes {question_tokens} prompt tokens; with max_tokens={max_tokens} that "
                f"exceeds max_model_len={self.max_model_len}: shorten the question or lower max_tokens"
            )

    def _passage_tokens(self, passage: Passage) -> list[int]:
        return self.tokenizer.encode(passage.text, add_special_tokens=False)

    def _block_overhead(self) -> int:
        """Tokens a passage block adds beyond its text: number, title, separators (measured once)."""
        with_one = len(self.template.token_ids("q", [NumberedPassage(1, "", "x")]))
        return with_one - len(self.template.token_ids("q", [])) - 1 + 8  # + room for a title

    def _fill(self, capped: list[list[int]], base: int, overhead: int, limit: int) -> list[list[int]]:
        chosen, total = [], base
        for ids in capped:
            room = limit - total - overhead
            if room >= len(ids):
                chosen.append(ids)
                total += len(ids) + overhead
            else:
                if room >= MIN_TRUNCATED_TOKENS:
                    chosen.append(ids[:room])
                break
        return chosen

    def _finish(self, question: str, passages: list[Passage], chosen: list[list[int]], limit: int) -> PackedPrompt:
        # The estimate can be off by a few tokens (titles, merges at block edges): render exactly
        # and trim the last passage until the prompt is within the limit.
        while True:
            numbered = [
                NumberedPassage(n, passages[n - 1].title, self.tokenizer.decode(ids).strip())
                for n, ids in enumerate(chosen, start=1)
            ]
            token_ids = self.template.token_ids(question, numbered)
            excess = len(token_ids) - limit
            if excess <= 0 or not chosen:
                break
            last = chosen[-1][: len(chosen[-1]) - excess - 2]
            chosen = chosen[:-1] + ([last] if len(last) >= MIN_TRUNCATED_TOKENS else [])
        used = [passages[n - 1] for n in range(1, len(chosen) + 1)]
        truncated = sum(1 for n, ids in enumerate(chosen, start=1)
                        if len(ids) < len(self._passage_tokens(passages[n - 1])))
        return PackedPrompt(token_ids, used, truncated, self.smallest_bucket(len(token_ids)), numbered)


def build_packer(settings: GeneratorSettings, tokenizer) -> ContextPacker:  # noqa: ANN001 - a transformers tokenizer
    """The packer the generator serves with (also the fine-tuning data's, so both see one prompt)."""
    return ContextPacker(PromptTemplate(settings.prompt_template, tokenizer), tokenizer, settings.buckets,
                         settings.max_model_len, settings.max_passage_tokens, settings.min_passages,
                         closed_book=PromptTemplate(settings.closed_book_template, tokenizer))
