"""Convert a GGUF checkpoint into a model folder vLLM loads: config, safetensors, tokenizer, chat template.

Run in the generator environment (transformers 5.x + gguf):
    python -m services.generator.build.convert_gguf GGUF_FILE OUT_DIR
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def convert(gguf_file: Path, out_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = gguf_file.parent, gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    # The weights are already dequantised to fp32, but transformers still marks the model as
    # GGUF-quantised and refuses to save it ("quantized with gguf and is not serializable").
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    # transformers records the GGUF loader, not the architecture class vLLM looks up.
    model.config.architectures = [type(model).__name__]
    if not tokenizer.chat_template:
        raise SystemExit(f"{gguf_file} carries no chat template; cannot build a chat model folder")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf_file", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    if not args.gguf_file.is_file():
        print(f"GGUF file not found: {args.gguf_file}", file=sys.stderr)
        return 2
    convert(args.gguf_file, args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
