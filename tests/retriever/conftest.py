"""One small index (a few hundred passages of the demo corpus) and one retriever app per session."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from services.common.paths import Home

os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(Home.from_env().torch_extensions))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Every retriever the tests start keeps its ingested collections here, never in the prepared home.
os.environ.setdefault("RETRIEVER_COLLECTIONS_ROOT", tempfile.mkdtemp(prefix="collections-"))

SMALL_CORPUS_LINES = 300


@pytest.fixture(scope="session")
def small_corpus(home, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "small.jsonl"
    with home.corpus.open() as source:
        path.write_text("".join(line for _, line in zip(range(SMALL_CORPUS_LINES), source, strict=False)))
    return path


@pytest.fixture(scope="session")
def small_index(home, small_corpus, tmp_path_factory) -> Path:
    from services.retriever.build.indexing import BuildOptions, build_index

    out = tmp_path_factory.mktemp("index") / "small"
    build_index(small_corpus, out, BuildOptions(checkpoint=home.colbert_checkpoint))
    return out


@pytest.fixture(scope="session")
def client(home, small_index):
    from fastapi.testclient import TestClient

    from services.retriever.app import create_app
    from services.retriever.settings import RetrieverSettings
    from tests.helpers import wait_until_ready

    app = create_app(RetrieverSettings(index_dir=small_index, checkpoint_path=home.colbert_checkpoint, cpu_threads=1))
    with TestClient(app) as client:
        body = wait_until_ready(client, timeout_s=300)
        assert body["ready"], body
        yield client
