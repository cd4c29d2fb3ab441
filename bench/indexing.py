"""Index-build encoding speed on the demo corpus, in one run: colbert-ai's own CollectionEncoder
against the length-sorted encoder the build uses (services/retriever/build/collection_encoding.py), at
several batch sizes, and the ceiling: the tokens/s the encoder's arithmetic allows at this CPU's
measured fp32 matrix-multiply rate.

Run in the retriever environment after `ninjarag prepare`:
    .ninjarag/venvs/retriever/bin/python bench/indexing.py [--passages 1024] [--out bench/results/indexing.json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from report import emit
from services.common.paths import Home

HOME = Home.from_env()
os.environ.setdefault("TORCH_EXTENSIONS_DIR", str(HOME.torch_extensions))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402 - after the environment above
from colbert.indexing.collection_encoder import CollectionEncoder  # noqa: E402
from colbert.infra import ColBERTConfig  # noqa: E402
from colbert.modeling.checkpoint import Checkpoint  # noqa: E402

from services.retriever.build.collection_encoding import LengthSortedEncoder  # noqa: E402
from services.retriever.encoding import configure_checkpoint, passage_text  # noqa: E402
from services.retriever.build.indexing import BuildOptions  # noqa: E402


def sample_texts(count: int) -> list[str]:
    records = [json.loads(line) for line in HOME.corpus.open()]
    random.Random(0).shuffle(records)
    return [passage_text(r["title"], r["text"]) for r in records[:count]]


def load_checkpoint(batch_size: int) -> tuple[Checkpoint, ColBERTConfig]:
    options = BuildOptions(HOME.colbert_checkpoint)
    path = str(options.checkpoint)
    config = ColBERTConfig.from_existing(ColBERTConfig.load_from_checkpoint(path), ColBERTConfig(
        checkpoint=path, doc_maxlen=options.doc_maxlen, index_bsize=batch_size, gpus=0))
    checkpoint = Checkpoint(path, colbert_config=config, verbose=0)
    configure_checkpoint(checkpoint, options.encoding, "fp32")
    return checkpoint, config


def time_encoder(encoder: CollectionEncoder, texts: list[str]) -> tuple[dict, torch.Tensor]:
    started = time.perf_counter()
    embeddings, doclens = encoder.encode_passages(texts)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "passages_per_s": round(len(texts) / seconds, 1),
            "embeddings": sum(doclens)}, embeddings


def matmul_gflops(repeats: int = 5, rounds: int = 40) -> float:
    """fp32 GEMM rate at the encoder's feed-forward shape (tokens x 384 @ 384 x 1536), the best of
    a few repeats: a shared machine's rate varies from minute to minute."""
    a, b = torch.randn(4096, 384), torch.randn(384, 1536)
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(rounds):
            a @ b
        best = max(best, 2 * 4096 * 384 * 1536 * rounds / (time.perf_counter() - started) / 1e9)
    return best


def encoder_flops_per_token(checkpoint: Checkpoint) -> float:
    """2 FLOPs per weight of every Linear layer (the embedding lookup is free)."""
    return 2.0 * sum(m.weight.numel() for m in checkpoint.model.modules() if isinstance(m, torch.nn.Linear))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=1024)
    parser.add_argument("--batch-sizes", default="8,16,32,64")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    texts = sample_texts(args.passages)
    sizes = [int(size) for size in args.batch_sizes.split(",")]

    gflops = matmul_gflops()
    checkpoint, config = load_checkpoint(batch_size=64)
    tokens = sum(len(ids) for ids in checkpoint.doc_tokenizer.tok(texts, truncation=True, max_length=config.doc_maxlen)["input_ids"])
    runs = {}
    runs["colbert-ai bs64"], reference = time_encoder(CollectionEncoder(config, checkpoint), texts)
    for size in sizes:
        checkpoint, config = load_checkpoint(batch_size=size)
        runs[f"length-sorted bs{size}"], embeddings = time_encoder(LengthSortedEncoder(config, checkpoint), texts)
        runs[f"length-sorted bs{size}"]["max_abs_difference"] = float((embeddings - reference).abs().max())

    gflops = max(gflops, matmul_gflops())
    ceiling = gflops * 1e9 / encoder_flops_per_token(checkpoint) / (tokens / len(texts))
    baseline = runs["colbert-ai bs64"]["passages_per_s"]
    for run in runs.values():
        run["speedup"] = round(run["passages_per_s"] / baseline, 2)
        run["of_ceiling"] = round(run["passages_per_s"] / ceiling, 2)
    corpus_passages = sum(1 for _ in HOME.corpus.open())
    best = max(runs.values(), key=lambda run: run["passages_per_s"])
    report = {
        "machine": {"cpus": os.cpu_count(), "fp32_matmul_gflops": round(gflops, 1)},
        "passages": len(texts), "mean_tokens": round(tokens / len(texts), 1),
        "ceiling_passages_per_s": round(ceiling, 1),
        "runs": runs,
        "demo_corpus": {"passages": corpus_passages,
                        "encoding_minutes_at_best": round(corpus_passages / best["passages_per_s"] / 60, 1),
                        "encoding_minutes_at_ceiling": round(corpus_passages / ceiling / 60, 1)},
    }
    lines = [f"{'encoder':<22} {'passages/s':>10} {'speedup':>8} {'of ceiling':>10}"]
    lines += [f"{name:<22} {run['passages_per_s']:>10} {run['speedup']:>8} {run['of_ceiling']:>10}" for name, run in runs.items()]
    lines.append(f"ceiling at {gflops:.0f} GFLOP/s fp32: {ceiling:.1f} passages/s "
                 f"({report['demo_corpus']['encoding_minutes_at_ceiling']} min for the demo corpus)")
    emit(report, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
