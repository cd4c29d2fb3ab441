"""Build a served model folder from the base model and a committed LoRA adapter, after checking
every hash the adapter's manifest records: a fresh clone gets the tuned model without training.

    python -m ninjarag.finetune.merge --base DIR --adapter DIR --out DIR
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from services.common.files import sha256_of

PROVENANCE_FILE = "ninjarag-adapter.json"


class HashMismatch(ValueError):
    pass


def check_hashes(base: Path, adapter: Path) -> dict:
    manifest = json.loads((adapter / "manifest.json").read_text())
    for what, path, recorded in (
        ("base model weights", base / "model.safetensors", manifest["base_weights_sha256"]),
        ("adapter weights", adapter / "adapter_model.safetensors", manifest["adapter_sha256"]),
    ):
        if not path.is_file():
            raise FileNotFoundError(f"missing {path}: run `ninjarag prepare`")
        actual = sha256_of(path)
        if actual != recorded:
            raise HashMismatch(f"{what} {path} has sha256 {actual}, but {adapter / 'manifest.json'} was trained "
                               f"on {recorded}: rebuild the base with `ninjarag prepare` or retrain the adapter")
    return manifest


def merge(base: Path, adapter: Path, out: Path) -> dict:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    manifest = check_hashes(base, adapter)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, local_files_only=True)
    merged = PeftModel.from_pretrained(model, adapter, local_files_only=True).merge_and_unload()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.to(torch.float32).save_pretrained(tmp, safe_serialization=True)
    AutoTokenizer.from_pretrained(base, local_files_only=True).save_pretrained(tmp)
    (tmp / PROVENANCE_FILE).write_text(json.dumps({k: v for k, v in manifest.items() if k != "data"}, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--adapter", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        manifest = merge(args.base, args.adapter, args.out)
    except (FileNotFoundError, HashMismatch) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {manifest['name']} merged into {args.base.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
