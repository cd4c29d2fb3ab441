"""The production fine-tune on Trainium: optimum-neuron's NeuronSFTTrainer, LoRA, tensor parallel,
launched by torchrun with one process per NeuronCore (k8s/overlays/trn1-finetune runs it).

Runs only in the Neuron training image (docker/Dockerfile.finetune-neuron: torch-neuronx and
optimum-neuron); its settings all come from the recipe's [train] and [neuron] sections, so the
deploy tests check them offline. Resumes from the newest checkpoint in --out after a restart.

    torchrun --nproc_per_node 32 -m ninjarag.finetune.neuron_train --recipe RECIPE --data DIR --out DIR [--models DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ninjarag.finetune.recipe import Recipe
from services.common.paths import Home


def training_arguments(recipe: Recipe, out: Path) -> dict:
    """NeuronTrainingArguments / NeuronSFTConfig keywords, from the recipe alone."""
    neuron = recipe.neuron
    if neuron is None:
        raise ValueError(f"recipe {recipe.name} has no [neuron] section")
    return {
        "output_dir": str(out),
        "do_train": True,
        "bf16": True,
        "tensor_parallel_size": neuron.tensor_parallel_size,
        "pipeline_parallel_size": neuron.pipeline_parallel_size,
        "per_device_train_batch_size": neuron.per_device_batch_size,
        "gradient_accumulation_steps": recipe.train.grad_accumulation,
        "learning_rate": neuron.learning_rate,
        "num_train_epochs": neuron.epochs,
        "warmup_steps": neuron.warmup_steps,
        "save_steps": recipe.train.checkpoint_every,
        "logging_steps": 1,
        "seed": recipe.seed,
        "max_length": neuron.max_length,
        "packing": True,
        "completion_only_loss": True,  # the loss on the answer only, as on the CPU
        "async_save": True,
    }


def lora_arguments(recipe: Recipe) -> dict:
    train = recipe.train
    return {"r": train.lora_r, "lora_alpha": train.lora_alpha, "lora_dropout": train.lora_dropout,
            "target_modules": train.target_modules, "bias": "none", "task_type": "CAUSAL_LM"}


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - needs Trainium and optimum-neuron
    import torch
    from datasets import load_dataset
    from optimum.neuron import NeuronSFTConfig, NeuronSFTTrainer, NeuronTrainingArguments
    from optimum.neuron.models.training import NeuronModelForCausalLM
    from peft import LoraConfig
    from transformers import AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="The folder `ninjarag finetune data` wrote.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--models", type=Path, default=None, help="Folder of model folders [default: $NINJARAG_HOME/models].")
    args = parser.parse_args(argv)
    recipe = Recipe.load(args.recipe)
    keywords = training_arguments(recipe, args.out)
    sft_only = {key: keywords.pop(key) for key in ("max_length", "packing", "completion_only_loss")}
    training_args = NeuronTrainingArguments(**keywords)
    base = (args.models or Home.from_env().models) / recipe.base_model
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = NeuronModelForCausalLM.from_pretrained(base, training_args.trn_config, torch_dtype=torch.bfloat16,
                                                   local_files_only=True)
    dataset = load_dataset("json", data_files=str(args.data / "sft.jsonl"), split="train")
    trainer = NeuronSFTTrainer(args=NeuronSFTConfig(**sft_only, **training_args.to_dict()), model=model,
                               peft_config=LoraConfig(**lora_arguments(recipe)), processing_class=tokenizer,
                               train_dataset=dataset.remove_columns(["source"]))
    resume = any(args.out.glob("checkpoint-*"))
    result = trainer.train(resume_from_checkpoint=True if resume else None)
    trainer.save_model(str(args.out / "adapter"))
    (args.out / "adapter" / "training.json").write_text(json.dumps(
        {"recipe": recipe.name, "recipe_sha256": recipe.sha256, "metrics": result.metrics}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
