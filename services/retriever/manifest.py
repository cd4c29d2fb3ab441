"""The index layout and its manifest (what an index was built from): written by the builder
(build/indexing.py), read by the service without importing the builder."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from services.retriever.encoding import EncodingStyle, Precision

MANIFEST_FILE = "manifest.json"
PLAID_DIR = "plaid"  # colbert-ai's index
BM25_DIR = "bm25"
PASSAGES_FILE = "passages.jsonl"  # id, title, text per line, in PLAID's passage order


class IndexManifest(BaseModel):
    index_version: str
    corpus_path: str
    corpus_sha256: str
    passages: int
    checkpoint: str
    encoding: EncodingStyle
    precision: Precision
    nbits: int
    doc_maxlen: int
    query_maxlen: int
    num_partitions: int
    embeddings: int
    build_seconds: float
    passages_per_second: float
    built_at: str
    colbert_ai_version: str
    # False: BM25 and the passages only, served while the dense index builds (a first `ninjarag demo`);
    # every search is then BM25, whatever mode it asks for.
    dense: bool = True

    @classmethod
    def read(cls, index_dir: Path) -> IndexManifest:
        path = index_dir / MANIFEST_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no index at {index_dir} (missing {MANIFEST_FILE}); build one with `ninjarag index build`")
        return cls.model_validate_json(path.read_text())

    def write(self, index_dir: Path) -> None:
        (index_dir / MANIFEST_FILE).write_text(self.model_dump_json(indent=2) + "\n")
