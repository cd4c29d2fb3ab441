"""The local ColBERT checkpoint: the packaged MiniLM encoder in colbert-ai's checkpoint layout.

Production loads a trained `colbertv2.0` folder from a local path; locally we build a folder of
the same layout from all-MiniLM-L6-v2 with the projection set to the identity (384 -> 384), so
the production loading path (colbert-ai's `Checkpoint`) is what runs. This is not a trained
ColBERT: MiniLM's token embeddings were trained for mean-pooled sentence similarity.

    python -m services.retriever.build.checkpoint ENCODER_DIR OUT_DIR
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

MINILM_DIM = 384


def build_identity_checkpoint(encoder_dir: Path, out_dir: Path) -> None:
    import torch
    from colbert.infra import ColBERTConfig
    from colbert.modeling.checkpoint import Checkpoint

    checkpoint = Checkpoint(str(encoder_dir), ColBERTConfig(checkpoint=str(encoder_dir), dim=MINILM_DIM), verbose=0)
    with torch.no_grad():
        checkpoint.linear.weight.copy_(torch.eye(MINILM_DIM))
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    checkpoint.save(str(tmp))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def main() -> None:
    parser = argparse.ArgumentParser(description="Build the local MiniLM ColBERT checkpoint.")
    parser.add_argument("encoder_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    build_identity_checkpoint(args.encoder_dir, args.out_dir)


if __name__ == "__main__":
    main()
