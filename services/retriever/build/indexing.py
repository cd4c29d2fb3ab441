"""Build a retriever index from a JSONL corpus: a PLAID index (colbert-ai), a BM25 index (bm25s),
the passages, and a manifest.

    python -m services.retriever.build.indexing --corpus FILE --out DIR --checkpoint DIR [--encoding plain] [--lexical-only]

The build writes into DIR.building and renames it to DIR when complete, so an interrupted
build leaves any previous index untouched and is simply run again (restartable).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np

from services.common.corpus import CorpusFormatError, iter_passages
from services.common.files import sha256_of
from services.retriever.encoding import EncodingStyle, Precision, configure_checkpoint, passage_text, resolve_precision
from services.retriever.manifest import BM25_DIR, PASSAGES_FILE, PLAID_DIR, IndexManifest

COLLECTION_FILE = "collection.tsv"


@dataclass(frozen=True)
class BuildOptions:
    checkpoint: Path
    encoding: EncodingStyle = "plain"
    precision: Precision = "fp32"
    nbits: int = 2
    doc_maxlen: int = 256
    query_maxlen: int = 64
    kmeans_niters: int = 4
    # Sizing for small collections (colbert-ai's defaults target millions of passages):
    # at most this share of passages is encoded a first time to train the centroids...
    sample_fraction: float = 0.1
    min_sample_passages: int = 1000
    # ...and about 2 centroids per sqrt(embeddings) instead of 16.
    partitions_per_sqrt_embedding: float = 2.0
    # Measured on 2 AVX2 cores (bench/indexing.py): 16 encodes 1.3x faster than 64 with length-sorted batches.
    batch_size: int = 16


def _sized_indexer_class():  # noqa: ANN202 - built lazily: importing colbert is slow
    from colbert.indexing.collection_indexer import CollectionIndexer

    from services.retriever.build.collection_encoding import LengthSortedEncoder

    class SizedCollectionIndexer(CollectionIndexer):
        """colbert-ai's indexer with k-means sized to the collection and a chosen encoding style."""

        def __init__(self, config, collection, options: BuildOptions) -> None:  # noqa: ANN001
            super().__init__(config=config, collection=collection, verbose=1)
            self.options = options
            configure_checkpoint(self.checkpoint, options.encoding, options.precision)
            self.encoder = LengthSortedEncoder(config, self.checkpoint)

        def _sample_embeddings(self, sampled_pids: set[int]) -> float:
            self.encoder.start_phase("encoding the k-means sample", len(sampled_pids), remember=True)
            try:
                return super()._sample_embeddings(sampled_pids)
            finally:
                self.encoder.end_phase()

        def index(self) -> None:
            self.encoder.start_phase("encoding passages", len(self.collection))
            try:
                super().index()
            finally:
                self.encoder.end_phase()
                self.encoder.forget()

        def _sample_pids(self) -> set[int]:
            total = len(self.collection)
            wanted = max(self.options.min_sample_passages, int(total * self.options.sample_fraction))
            return set(random.sample(range(total), min(total, wanted)))

        def _save_plan(self) -> None:
            by_size = self.options.partitions_per_sqrt_embedding * np.sqrt(self.num_embeddings_est)
            sized = int(2 ** np.floor(np.log2(max(by_size, 16))))
            self.num_partitions = min(self.num_partitions, sized)
            print(f"#> k-means: {self.num_partitions} centroids for ~{int(self.num_embeddings_est):,} embeddings", flush=True)
            super()._save_plan()

    return SizedCollectionIndexer


def _run_indexer(config, collection_path: str, options: BuildOptions) -> None:  # noqa: ANN001
    _sized_indexer_class()(config, collection_path, options).run(shared_lists=[[]])


def build_plaid(collection_path: Path, plaid_dir: Path, options: BuildOptions) -> None:
    from colbert.infra import ColBERTConfig
    from colbert.infra.launcher import run_process_without_mp

    # The checkpoint's own settings (dim, tokens) first, as colbert-ai's Indexer does.
    config = ColBERTConfig.from_existing(ColBERTConfig.load_from_checkpoint(str(options.checkpoint)), ColBERTConfig(
        checkpoint=str(options.checkpoint),
        collection=str(collection_path),
        index_path=str(plaid_dir),
        nbits=options.nbits,
        doc_maxlen=options.doc_maxlen,
        query_maxlen=options.query_maxlen,
        kmeans_niters=options.kmeans_niters,
        index_bsize=options.batch_size,
        nranks=1,
        gpus=0,
        avoid_fork_if_possible=True,
        root=str(plaid_dir.parent),
    ))
    plaid_dir.mkdir(parents=True, exist_ok=True)
    run_process_without_mp(_run_indexer, config, str(collection_path), options)


def build_bm25(texts: list[str], bm25_dir: Path) -> None:
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    retriever.save(str(bm25_dir))


def build_index(corpus: Path, out: Path, options: BuildOptions, dense: bool = True) -> IndexManifest:
    """`dense=False`: BM25 and the passages only (seconds), served until the full index replaces it."""
    started = time.perf_counter()
    passages = list(iter_passages(corpus))
    if not passages:
        raise CorpusFormatError(f"{corpus}: no passages")
    building = out.with_name(out.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)

    texts = [passage_text(p.title, p.text) for p in passages]
    with (building / PASSAGES_FILE).open("w", encoding="utf-8") as sink:
        for passage in passages:
            sink.write(passage.model_dump_json(exclude_none=True) + "\n")
    plan, metadata = {"num_partitions": 0}, {"num_embeddings": 0}
    if dense:
        collection_path = building / COLLECTION_FILE  # colbert-ai's input
        with collection_path.open("w", encoding="utf-8") as sink:
            for pid, text in enumerate(texts):
                sink.write(f"{pid}\t{' '.join(text.split())}\n")
        print(f"#> encoding {len(passages):,} passages with {options.checkpoint.name} ({options.encoding} encoding)",
              flush=True)
        build_plaid(collection_path, building / PLAID_DIR, options)
        plan = json.loads((building / PLAID_DIR / "plan.json").read_text())
        metadata = json.loads((building / PLAID_DIR / "metadata.json").read_text())
    print("#> building the BM25 index", flush=True)
    build_bm25(texts, building / BM25_DIR)

    corpus_sha = sha256_of(corpus)
    seconds = time.perf_counter() - started
    built_at = datetime.now(UTC).isoformat(timespec="seconds")
    identity = f"{corpus_sha}|{options.checkpoint.name}|{options.encoding}|{options.nbits}|{dense}|{built_at}"
    manifest = IndexManifest(
        index_version=hashlib.sha256(identity.encode()).hexdigest()[:12],
        corpus_path=str(corpus.resolve()),
        corpus_sha256=corpus_sha,
        passages=len(passages),
        checkpoint=str(options.checkpoint),
        encoding=options.encoding,
        precision=options.precision,
        nbits=options.nbits,
        doc_maxlen=options.doc_maxlen,
        query_maxlen=options.query_maxlen,
        num_partitions=plan["num_partitions"],
        embeddings=metadata["num_embeddings"],
        build_seconds=round(seconds, 1),
        passages_per_second=round(len(passages) / seconds, 1),
        built_at=built_at,
        colbert_ai_version=version("colbert-ai"),
        dense=dense,
    )
    manifest.write(building)
    previous = out.with_name(out.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if out.exists():
        out.rename(previous)
    building.rename(out)
    shutil.rmtree(previous, ignore_errors=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a retriever index (PLAID + BM25) from a JSONL corpus.")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--encoding", choices=["plain", "colbert"], default="plain")
    parser.add_argument("--nbits", type=int, choices=[1, 2, 4], default=2)
    parser.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                        help="auto: bf16 where the CPU computes it natively, else fp32")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--lexical-only", action="store_true",
                        help="BM25 and the passages only (seconds): served until the full index replaces it")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    if not (args.checkpoint / "config.json").is_file():
        print(f"error: no checkpoint at {args.checkpoint} (expected a model folder with config.json)", file=sys.stderr)
        return 2
    try:
        options = BuildOptions(args.checkpoint, args.encoding, resolve_precision(args.precision), args.nbits)
        manifest = build_index(args.corpus, args.out, options, dense=not args.lexical_only)
    except (CorpusFormatError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(manifest.model_dump(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
