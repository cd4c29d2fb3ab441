"""Shared model config and field types for the wire contracts."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.common.contracts.vocabulary import MAX_QUESTION_CHARS, has_control_chars


def _no_control_chars(value: str) -> str:
    if has_control_chars(value):
        raise ValueError("contains control characters; send plain text")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


class Contract(BaseModel):
    """Strict about unknown fields, so a misspelt field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=False, strict=True)


Question = Annotated[
    str,
    Field(min_length=1, max_length=MAX_QUESTION_CHARS, description="The user's question, plain text."),
    AfterValidator(_not_blank),
    AfterValidator(_no_control_chars),
]

TopK = Annotated[int, Field(ge=1, le=100, description="How many passages to retrieve.")]
