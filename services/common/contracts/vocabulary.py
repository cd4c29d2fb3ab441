"""The words the services and the tools share, defined once: retrieval modes, guard verdicts and
sentence actions, and the limits on untrusted text."""

from __future__ import annotations

import re
from typing import Literal

SearchMode = Literal["plaid", "bm25", "hybrid"]
# What an answer may ask for: a search mode, or `none` to answer closed book.
RetrievalMode = Literal["hybrid", "plaid", "bm25", "none"]
# How an answer ended: every sentence released as written, some corrected or dropped, or refused.
Verdict = Literal["ok", "partial", "refuse"]
# What the answer policy did with one model sentence (services/gateway/policy.py): released as
# written, released with its unsupported clauses cut, replaced by a cited passage sentence, held back.
SentenceAction = Literal["keep", "trimmed", "quoted", "drop"]

MAX_QUESTION_CHARS = 2000

# Control characters other than tab and newline have no business in a question or passage.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_chars(text: str) -> bool:
    return _CONTROL_CHARS.search(text) is not None
