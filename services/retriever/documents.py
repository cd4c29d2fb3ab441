"""Uploaded files -> documents: JSONL (one document per line), plain text, Markdown, HTML (libxml2's
parser, through lxml) and PDF (pypdf).

Each bad document becomes a `DocumentError` that names the file (and line) and says what to fix; it
never stops the other documents. Every size and count is bounded (`ExtractionLimits`), and all the
text handling here is linear in the input's length.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from pydantic import Field, ValidationError, field_validator

from services.common.contracts.base import Contract
from services.common.contracts.collections import (
    DOCUMENT_ID_PATTERN,
    FIELD_PATTERN,
    MAX_METADATA_FIELDS,
    MAX_METADATA_LIST,
    MAX_METADATA_STRING,
    DocumentError,
    DocumentId,
    MetadataValue,
)
from services.common.corpus import normalise

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "text", ".text": "text", ".md": "markdown",
           ".markdown": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._:/-]")
_FIELD_NAME = re.compile(FIELD_PATTERN)
# Control characters carry nothing a reader needs (PDF text layers are full of them): they become spaces.
_CONTROL_TO_SPACE = {code: " " for code in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}


@dataclass(frozen=True)
class ExtractionLimits:
    max_file_bytes: int = 20 * 1024 * 1024
    max_document_chars: int = 2_000_000
    max_documents: int = 10_000  # per job, over all its files
    max_pdf_pages: int = 2_000


class Document(Contract):
    """One document as ingested: what JSONL lines carry, and what the other formats are turned into."""

    id: DocumentId
    title: str = Field(default="", max_length=500)
    text: str = Field(min_length=1)
    metadata: dict[str, MetadataValue] = Field(default_factory=dict, max_length=MAX_METADATA_FIELDS)

    @field_validator("metadata")
    @classmethod
    def _bounded_values(cls, metadata: dict[str, MetadataValue]) -> dict[str, MetadataValue]:
        for field, value in metadata.items():
            if not _FIELD_NAME.fullmatch(field):
                raise ValueError(f"metadata field {field[:70]!r}: use letters, digits and _ (at most 64)")
            values = value if isinstance(value, list) else [value]
            if len(values) > MAX_METADATA_LIST:
                raise ValueError(f"metadata field {field!r}: at most {MAX_METADATA_LIST} values")
            if any(isinstance(v, str) and len(v) > MAX_METADATA_STRING for v in values):
                raise ValueError(f"metadata field {field!r}: strings are at most {MAX_METADATA_STRING} characters")
        return metadata


def format_of(filename: str) -> str | None:
    return FORMATS.get(PurePosixPath(filename).suffix.lower())


def document_id_for(filename: str) -> str:
    """A file's document id: its name, with anything an id may not hold replaced by `_`."""
    name = _ID_UNSAFE.sub("_", PurePosixPath(filename).name)[:150].lstrip("._:/-")
    return name or "document"


def extract(filename: str, data: bytes, limits: ExtractionLimits) -> Iterator[Document | DocumentError]:
    """The documents of one uploaded file, or an error for each part that cannot be one."""
    kind = format_of(filename)
    if kind is None:
        yield _error(filename, f"unsupported file type; send {', '.join(sorted(FORMATS))}")
        return
    if not data.strip():
        yield _error(filename, "the file is empty")
        return
    if len(data) > limits.max_file_bytes:
        yield _error(filename, f"the file is {len(data):,} bytes; at most {limits.max_file_bytes:,} per file")
        return
    if kind == "pdf":
        yield from _one(filename, _pdf(filename, data, limits), limits)
        return
    text = _decoded(filename, data)
    if isinstance(text, DocumentError):
        yield text
    elif kind == "jsonl":
        yield from _jsonl(filename, text, limits)
    elif kind == "html":
        yield from _one(filename, _html(text), limits)
    elif kind == "markdown":
        yield from _one(filename, (_first_heading(text), _without_heading_marks(text)), limits)
    else:
        yield from _one(filename, ("", text), limits)


def _error(filename: str, error: str, document: str | None = None) -> DocumentError:
    return DocumentError(file=PurePosixPath(filename).name[:200], document=document, error=error)


def _decoded(filename: str, data: bytes) -> str | DocumentError:
    if b"\x00" in data:
        return _error(filename, "binary content (NUL bytes) in a text format; send the text, or the right extension")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return _error(filename, f"not UTF-8 (invalid byte at offset {exc.start}); re-save the file as UTF-8")


def _one(filename: str, titled: tuple[str, str] | DocumentError, limits: ExtractionLimits) -> Iterator[Document | DocumentError]:
    if isinstance(titled, DocumentError):
        yield titled
        return
    title, text = titled
    yield _document(filename, {"id": document_id_for(filename), "title": normalise(title)[:500], "text": text},
                    limits, None)


def _document(filename: str, record: object, limits: ExtractionLimits, where: str | None) -> Document | DocumentError:
    if not isinstance(record, dict):
        return _error(filename, "each line must be a JSON object with id, title, text and optional metadata", where)
    text = record.get("text")
    if isinstance(text, str):
        if len(text) > limits.max_document_chars:
            return _error(filename, f"the text is {len(text):,} characters; at most {limits.max_document_chars:,} "
                          "per document (split it)", where)
        record = {**record, "text": normalise(text.translate(_CONTROL_TO_SPACE))}
        if not record["text"]:
            return _error(filename, "the document has no text", where)
    try:
        return Document.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "document"
        hint = f" (ids match {DOCUMENT_ID_PATTERN})" if field == "id" else ""
        return _error(filename, f"{field}: {first['msg']}{hint}", where or str(record.get("id", ""))[:150] or None)


def _jsonl(filename: str, text: str, limits: ExtractionLimits) -> Iterator[Document | DocumentError]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield _error(filename, f"not valid JSON ({exc.msg} at column {exc.colno}); one object per line", where)
            continue
        yield _document(filename, record, limits, where)


def _first_heading(text: str) -> str:
    for line in text.splitlines()[:50]:
        stripped = line.strip()
        if stripped.startswith("#"):
            return stripped.lstrip("#").strip()
    return ""


def _without_heading_marks(text: str) -> str:
    """Markdown headings keep their words, not their `#`s (the reader and the guard see prose)."""
    return "\n".join(line.lstrip().lstrip("#").strip() if line.lstrip().startswith("#") else line
                     for line in text.splitlines())


def _html(text: str) -> tuple[str, str] | DocumentError:
    """libxml2's HTML parser: linear in the text, nesting bounded (BeautifulSoup on the standard
    library's parser took 400 s on 200,000 characters of `<a <a <a`; tests/retriever/test_document_parsers.py)."""
    import lxml.html
    from lxml import etree

    root = lxml.html.document_fromstring("<html>" + text, parser=lxml.html.HTMLParser(remove_comments=True,
                                                                                     remove_pis=True))
    title = " ".join(" ".join(element.itertext()) for element in root.iter("title"))
    etree.strip_elements(root, "head", "script", "style", "noscript", "template", with_tail=False)
    return title, " ".join(root.itertext())


def _pdf(filename: str, data: bytes, limits: ExtractionLimits) -> tuple[str, str] | DocumentError:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return _error(filename, "the PDF is encrypted; send an unencrypted copy")
        if len(reader.pages) > limits.max_pdf_pages:
            return _error(filename, f"the PDF has {len(reader.pages):,} pages; at most {limits.max_pdf_pages:,}")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str((reader.metadata or {}).get("/Title") or "")
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return _error(filename, f"not a readable PDF ({type(exc).__name__}); check that the file is a complete PDF")
    text = "\n".join(pages)
    if not text.strip():
        return _error(filename, "the PDF has no text layer (a scan?); OCR is not supported, send its text")
    return title, text
