"""The corpus file format (JSONL, one passage per line with `id`, `title`, `text`) and the one rule that
cuts documents into passages: `prepare` for the demo corpus and ingestion for collections both use it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from services.common.contracts.search import Passage


MAX_PASSAGE_WORDS = 120

# A sentence ends at . ! or ? followed by space and an upper-case letter, digit or quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


def split_words(text: str, max_words: int = MAX_PASSAGE_WORDS) -> list[str]:
    """Pack whole sentences into chunks of at most `max_words`; a longer sentence is cut by words."""
    chunks: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        while len(words) > max_words:
            if current:
                chunks.append(" ".join(current))
                current = []
            chunks.append(" ".join(words[:max_words]))
            words = words[max_words:]
        if current and len(current) + len(words) > max_words:
            chunks.append(" ".join(current))
            current = []
        current.extend(words)
    if current:
        chunks.append(" ".join(current))
    return chunks


class CorpusFormatError(ValueError):
    """A corpus line that is not a passage; the message names the file and line."""


def iter_passages(path: Path) -> Iterator[Passage]:
    if not path.is_file():
        raise FileNotFoundError(f"corpus file not found: {path}")
    seen: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                passage = Passage.model_validate(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CorpusFormatError(f"{where}: not valid JSON ({exc.msg}); each line must be one JSON object") from None
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(part) for part in first["loc"]) or "line"
                raise CorpusFormatError(
                    f"{where}: {field}: {first['msg']}; each line needs string fields id, title, text"
                ) from None
            if passage.id in seen:
                raise CorpusFormatError(f"{where}: duplicate id {passage.id!r}; ids must be unique")
            seen.add(passage.id)
            yield passage
