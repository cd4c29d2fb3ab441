"""The corpus file format: JSONL, one passage per line with `id`, `title`, `text`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from services.common.contracts.search import Passage


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
