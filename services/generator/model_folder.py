"""Checks that a model folder is one vLLM can load: config, weights, tokenizer, chat template."""

from __future__ import annotations

from pathlib import Path


def load_tokenizer(model_path: Path):  # noqa: ANN201 - a transformers tokenizer
    """Load the folder's tokenizer and render its chat template once, or fail saying what is missing."""
    from transformers import AutoTokenizer

    if not (model_path / "config.json").is_file():
        raise FileNotFoundError(f"no model folder at {model_path}; run `ninjarag prepare` with the same "
                                "GENERATOR_MODEL (or `--only model:NAME`): models beyond the default are built on demand")
    tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
    if not tokenizer.chat_template:
        raise ValueError(f"{model_path} has no chat template")
    tokenizer.apply_chat_template([{"role": "user", "content": "ping"}], tokenize=False, add_generation_prompt=True)
    return tokenizer
