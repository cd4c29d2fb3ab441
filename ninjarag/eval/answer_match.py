"""Answer matching as in the DBRX RAG eval / FlashRAG `acc` and DPR `has_answer`: an accepted answer
counts when its normalised form occurs in the normalised text."""

from __future__ import annotations

import re
import string
import unicodedata

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans({char: " " for char in string.punctuation})


def normalize_answer(text: str) -> str:
    """Lowercase, strip punctuation and articles, collapse whitespace (FlashRAG's normalize_answer)."""
    text = unicodedata.normalize("NFD", text).lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def contains_answer(text: str, answers: list[str]) -> bool:
    """True when any accepted answer occurs in `text` on word boundaries, after normalisation."""
    haystack = f" {normalize_answer(text)} "
    return any(f" {needle} " in haystack for needle in map(normalize_answer, answers) if needle)
