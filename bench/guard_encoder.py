"""The guard's sentence encoder in fp32 and bf16 by batch size, in one run: what bf16 (used where the
CPU computes it natively, from BF16_MIN_TEXTS texts) gains for an answer sentence embedded alone and
for a fresh passage set's sentences in one batch, and how far its embeddings are from fp32's (the change in
sentence-to-passage similarity that support and injection scores are built from). On a CPU without
native bf16 the bf16 column shows the emulation.

    .ninjarag/venvs/guard/bin/python bench/guard_encoder.py [--threads 1] [--out bench/results/guard-encoder.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from report import emit

from services.common.paths import REPO_ROOT, Home
from services.common.sentences import split_sentences
from services.guard.encoder import BF16_MIN_TEXTS, SentenceEncoder

ITEMS = REPO_ROOT / "bench" / "data" / "guard-real" / "items.jsonl"
BATCH_SIZES = (1, 2, 4, 8, 32)


def encode(encoder: SentenceEncoder, texts: list[str], bf16: bool) -> torch.Tensor:
    encoder._bf16 = bf16
    return encoder._encode(texts)  # the model itself: the embedding cache plays no part


def medians_ms(encoder: SentenceEncoder, batches: list[list[str]]) -> tuple[float, float]:
    """(fp32, bf16) medians, interleaved batch by batch and each going first every other time: run
    one after the other, whichever runs second looked up to 1.5x faster or slower on this machine."""
    times: dict[bool, list[float]] = {False: [], True: []}
    for number, batch in enumerate(batches):
        for bf16 in ((False, True) if number % 2 == 0 else (True, False)):
            started = time.perf_counter()
            encode(encoder, batch, bf16)
            times[bf16].append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times[False]), 2), round(statistics.median(times[True]), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    items = [json.loads(line) for line in ITEMS.read_text(encoding="utf-8").splitlines()]
    sentences = [item["sentence"] for item in items]
    passage_sentences = list(dict.fromkeys(s for item in items for p in item["passages"] for s in split_sentences(p["text"])))
    encoder = SentenceEncoder(Home.from_env().encoder_model)
    encoder.warm_up()
    rows = {}
    for size in BATCH_SIZES:
        pool = sentences if size < 8 else passage_sentences
        batches = [[pool[(r * size + j) % len(pool)] for j in range(size)] for r in range(args.repeats)]
        fp32, bf16 = medians_ms(encoder, batches)
        rows[size] = {"fp32_ms": fp32, "bf16_ms": bf16, "bf16_speedup": round(fp32 / bf16, 2)}
    claims, evidence = sentences[:100], passage_sentences[:300]
    change = ((encode(encoder, claims, True) @ encode(encoder, evidence, True).T)
              - (encode(encoder, claims, False) @ encode(encoder, evidence, False).T)).abs()
    report = {"threads": args.threads, "bf16_min_texts": BF16_MIN_TEXTS, "by_batch_size": rows,
              "similarity_change_mean": round(float(change.mean()), 5), "similarity_change_max": round(float(change.max()), 5)}
    lines = ["| texts | fp32 p50 ms | bf16 p50 ms | bf16 speed-up |", "|---|---|---|---|"]
    lines += [f"| {size} | {r['fp32_ms']} | {r['bf16_ms']} | {r['bf16_speedup']} |" for size, r in rows.items()]
    lines.append(f"\nbf16 vs fp32 similarity change: mean {report['similarity_change_mean']}, max "
                 f"{report['similarity_change_max']}; the encoder uses bf16 (where native) from {BF16_MIN_TEXTS} texts")
    emit(report, "\n".join(lines), args.out)


if __name__ == "__main__":
    main()
