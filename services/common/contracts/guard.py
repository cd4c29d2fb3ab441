"""Guard contract: POST /v1/guard/input, /output, /passages and /support."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from services.common.contracts.base import Contract, Question
from services.common.contracts.vocabulary import MAX_QUESTION_CHARS
from services.common.contracts.search import Passage


class CategoryScore(Contract):
    name: str
    score: float = Field(ge=0.0, le=1.0)
    flagged: bool


class InputGuardRequest(Contract):
    # Not `Question`: the guard judges (and explains) what the gateway would refuse.
    question: str = Field(max_length=100_000)


class InputVerdict(Contract):
    allowed: bool
    categories: list[CategoryScore]
    reason: str


PassageSetId = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the passages, as screened.")]


class OutputGuardRequest(Contract):
    question: Question
    sentences: list[str] | None = Field(default=None, max_length=200, description="At most 200 per call; [] with "
                                        "`with_best_quote` asks only for the quote.")
    answer: str | None = Field(default=None, max_length=50_000)
    passages: list[Passage] = Field(default_factory=list, max_length=100)
    passage_set: PassageSetId | None = Field(
        default=None, description="Instead of `passages`: the set /v1/guard/passages kept, so that per-sentence "
        "calls carry only the sentence. 409 unknown_passage_set when this guard no longer holds it: send `passages`.")
    propose_corrections: bool = Field(default=True, description="Trims and quotes for unsupported sentences, for "
                                      "the answer policy; false (a keep-or-drop policy) skips their cost.")
    with_best_quote: bool = Field(default=False, description="Also the passage sentence that best answers the "
                                  "question (`best_quote`): what the answer says when no sentence survives.")

    @model_validator(mode="after")
    def _one_of_sentences_or_answer(self) -> OutputGuardRequest:
        if (self.sentences is None) == (self.answer is None):
            raise ValueError("send exactly one of 'sentences' (already split) or 'answer' (text to split)")
        if self.passage_set is not None and self.passages:
            raise ValueError("send either 'passages' or 'passage_set', not both")
        return self


class Quote(Contract):
    """A passage sentence, verbatim, that answers the question: what an answer may say instead of a
    sentence the passages do not support."""

    passage: int = Field(ge=1, description="The passage it comes from, 1-based.")
    text: str
    relevance: float = Field(ge=0.0, le=1.0, description="How well it answers the question (MiniLM similarity to "
                             "the question, and the share of the question's words its passage holds).")


class Trim(Contract):
    """What is left of a sentence once its unsupported clauses are cut, when that remainder is supported."""

    text: str = Field(description="The remainder, ending with the citation of the passage that supports it.")
    citations: list[int]
    support_score: float = Field(ge=0.0, le=1.0)


class SentenceVerdict(Contract):
    """The guard's judgement of one sentence and the corrections it proposes; what is released is the
    answer policy's decision (services/gateway/policy.py)."""

    index: int = Field(ge=0)
    text: str
    citations_found: list[int] = Field(description="Passage numbers cited as [n], 1-based.")
    citations_valid: bool = Field(description="Every cited number points at a passage that exists.")
    citations_added: list[int] = Field(default_factory=list, description="Citations the guard found support for.")
    support_score: float = Field(ge=0.0, le=1.0)
    supported: bool
    safe: bool
    trimmed: Trim | None = Field(default=None, description="Only for a safe, unsupported sentence.")
    quote: Quote | None = Field(default=None, description="Only for a safe, unsupported sentence: the passage "
                                "sentence closest to both the question and this sentence.")
    reasons: list[str] = Field(default_factory=list)


class OutputVerdict(Contract):
    sentences: list[SentenceVerdict]
    best_quote: Quote | None = Field(default=None, description="With `with_best_quote`: the passage sentence that "
                                     "best answers the question, whatever the answer said. None without passages.")


class PassageScreenRequest(Contract):
    passages: list[Passage] = Field(max_length=100)


class ScreenedPassage(Contract):
    id: str
    score: float = Field(ge=0.0, le=1.0)
    reason: str


class PassageScreenResult(Contract):
    """Retrieved passages that carry instructions to the model (indirect prompt injection)."""

    flagged: list[ScreenedPassage]
    passage_set: PassageSetId = Field(description="The passages kept (not flagged), held for the output checks.")


class SupportPair(Contract):
    sentence: int = Field(ge=0, description="Index into `sentences`.")
    passages: list[int] = Field(min_length=1, max_length=100, description="Passage numbers, 1-based, judged together.")


class SupportRequest(Contract):
    """Does this set of passages support this sentence? The primitive behind ALCE-style citation scores."""

    sentences: list[str] = Field(min_length=1, max_length=200)
    passages: list[Passage] = Field(min_length=1, max_length=100)
    pairs: list[SupportPair] = Field(min_length=1, max_length=2000)
    question: str = Field(default="", max_length=MAX_QUESTION_CHARS, description="The question the sentences answer: a short "
                          "sentence (\"1937 [2].\") is then judged as its answer, as the output check judges it.")

    @model_validator(mode="after")
    def _pairs_point_at_what_was_sent(self) -> SupportRequest:
        for number, pair in enumerate(self.pairs):
            if pair.sentence >= len(self.sentences):
                raise ValueError(f"pairs[{number}].sentence={pair.sentence}: there are {len(self.sentences)} sentences")
            outside = [n for n in pair.passages if not 1 <= n <= len(self.passages)]
            if outside:
                raise ValueError(f"pairs[{number}].passages {outside}: passages are numbered 1..{len(self.passages)}")
        return self


class SupportScore(Contract):
    score: float = Field(ge=0.0, le=1.0)
    supported: bool


class SupportResult(Contract):
    scores: list[SupportScore] = Field(description="One per pair, in order.")
    threshold: float
