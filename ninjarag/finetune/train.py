"""`ninjarag finetune train`: LoRA (peft) on the base model, on the CPU, loss on the answer tokens only.

Resumable: a checkpoint (adapter, optimizer, schedule, position) every `checkpoint_every` optimizer
steps, written beside and renamed; a rerun continues from the newest one. `--max-minutes` stops at
the next checkpoint after the budget. At the end the adapter is saved in bf16 with a manifest (base
weights sha256, data manifest sha256, recipe, seed, steps, final loss, throughput).

    python -m ninjarag.finetune.train --recipe RECIPE --data DIR --run DIR --out ADAPTER_DIR [--max-minutes M]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import shutil
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from ninjarag.finetune.recipe import Recipe
from services.common.files import sha256_of
from services.common.paths import Home

KEEP_CHECKPOINTS = 2


def load_examples(data_dir: Path) -> tuple[list[tuple[list[int], list[int]]], dict]:
    manifest_path, examples_path = data_dir / "manifest.json", data_dir / "examples.jsonl"
    if not manifest_path.is_file() or not examples_path.is_file():
        raise FileNotFoundError(f"no training data in {data_dir}: run `ninjarag finetune data` first")
    manifest = json.loads(manifest_path.read_text())
    if sha256_of(examples_path) != manifest["examples_sha256"]:
        raise ValueError(f"{examples_path} does not match its manifest's sha256: rebuild it with `ninjarag finetune data`")
    with examples_path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    return [(row["prompt_ids"], row["target_ids"]) for row in rows], manifest


def answer_loss(model, prompt_ids: list[int], target_ids: list[int]) -> torch.Tensor:  # noqa: ANN001
    """Mean cross-entropy of the answer tokens. Only the logits that predict them are computed
    (logits_to_keep): the vocabulary projection of every prompt position would be wasted work."""
    input_ids = torch.tensor([prompt_ids + target_ids])
    logits = model(input_ids=input_ids, logits_to_keep=len(target_ids) + 1).logits[0, :-1]
    return torch.nn.functional.cross_entropy(logits.float(), torch.tensor(target_ids))


class Checkpoints:
    def __init__(self, run_dir: Path) -> None:
        self.folder = run_dir / "checkpoints"

    def latest(self) -> Path | None:
        done = sorted(p for p in self.folder.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))
        return done[-1] if done else None

    def save(self, model, optimizer, scheduler, state: dict) -> None:  # noqa: ANN001
        final = self.folder / f"step-{state['step']:06d}"
        tmp = final.with_name(final.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        model.save_pretrained(tmp)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "rng": torch.get_rng_state()}, tmp / "trainer.pt")
        (tmp / "state.json").write_text(json.dumps(state))
        tmp.rename(final)
        for old in sorted(p for p in self.folder.glob("step-*") if p.is_dir() and not p.name.endswith(".tmp"))[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(old)


def keep_loss_log_until(loss_log: Path, step: int) -> None:
    """Forget the log lines of steps after the checkpoint training resumes from (they are redone)."""
    if loss_log.is_file():
        kept = [line for line in loss_log.read_text().splitlines(keepends=True) if json.loads(line)["step"] <= step]
        loss_log.write_text("".join(kept))


def build_model(recipe: Recipe, base: Path):  # noqa: ANN201
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32, local_files_only=True)
    config = LoraConfig(r=recipe.train.lora_r, lora_alpha=recipe.train.lora_alpha,
                        lora_dropout=recipe.train.lora_dropout, target_modules=recipe.train.target_modules,
                        task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def schedule(recipe: Recipe, total_steps: int):  # noqa: ANN201
    warmup = recipe.train.warmup_steps

    def factor(step: int) -> float:  # linear warm-up, then cosine to a tenth
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def train(recipe: Recipe, data_dir: Path, run_dir: Path, out: Path, max_minutes: float | None) -> int:
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    torch.manual_seed(recipe.seed)
    torch.set_num_threads(recipe.train.threads)
    examples, data_manifest = load_examples(data_dir)
    order = [i for epoch in range(recipe.train.epochs)
             for i in random.Random(recipe.seed + epoch).sample(range(len(examples)), len(examples))]
    accumulation = recipe.train.grad_accumulation
    total_steps = math.ceil(len(order) / accumulation)
    base = Home.from_env().models / recipe.base_model
    model = build_model(recipe, base)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe.train.learning_rate)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule(recipe, total_steps))
    checkpoints = Checkpoints(run_dir)
    state = {"step": 0, "position": 0, "seconds": 0.0, "tokens": 0, "recipe_sha256": recipe.sha256,
             "data_sha256": data_manifest["examples_sha256"]}
    latest = checkpoints.latest()
    if latest is not None:
        saved = json.loads((latest / "state.json").read_text())
        if (saved["recipe_sha256"], saved["data_sha256"]) != (state["recipe_sha256"], state["data_sha256"]):
            raise ValueError(f"{latest} was trained from another recipe or dataset: move {run_dir} away to start over")
        set_peft_model_state_dict(model, load_file(latest / "adapter_model.safetensors"))
        trainer = torch.load(latest / "trainer.pt", weights_only=False)
        optimizer.load_state_dict(trainer["optimizer"])
        scheduler.load_state_dict(trainer["scheduler"])
        torch.set_rng_state(trainer["rng"])
        state = saved
        print(f"resuming from {latest.name}: step {state['step']} of {total_steps}", file=sys.stderr)
    model.train()
    run_dir.mkdir(parents=True, exist_ok=True)
    keep_loss_log_until(run_dir / "loss.jsonl", state["step"])
    with (run_dir / "loss.jsonl").open("a") as loss_log:
        started, budget_s = time.monotonic(), (max_minutes * 60 if max_minutes else math.inf)
        session_start_seconds = state["seconds"]
        progress = tqdm(total=len(order), initial=state["position"], unit="example", desc="training", dynamic_ncols=True)
        window: list[float] = []
        while state["position"] < len(order):
            chunk = order[state["position"]: state["position"] + accumulation]
            for index in chunk:
                prompt_ids, target_ids = examples[index]
                loss = answer_loss(model, prompt_ids, target_ids)
                (loss / len(chunk)).backward()
                window.append(loss.item())
                state["tokens"] += len(prompt_ids) + len(target_ids)
                progress.update()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            state["step"] += 1
            state["position"] += len(chunk)
            state["seconds"] = session_start_seconds + time.monotonic() - started
            step_loss = sum(window[-len(chunk):]) / len(chunk)
            loss_log.write(json.dumps({"step": state["step"], "examples": state["position"], "loss": round(step_loss, 4),
                                       "lr": scheduler.get_last_lr()[0], "seconds": round(state["seconds"], 1)}) + "\n")
            loss_log.flush()
            progress.set_postfix_str(f"loss {sum(window[-64:]) / len(window[-64:]):.3f}")
            finished = state["position"] >= len(order)
            out_of_time = time.monotonic() - started > budget_s
            if finished or out_of_time or state["step"] % recipe.train.checkpoint_every == 0:
                state["final_loss"] = round(sum(window[-64:]) / len(window[-64:]), 4)
                checkpoints.save(model, optimizer, scheduler, state)
            if out_of_time and not finished:
                print(f"stopped after {max_minutes} minutes at step {state['step']} of {total_steps}; "
                      "run the same command again to resume", file=sys.stderr)
                return 3
        progress.close()
    export(model, recipe, base, data_manifest, state, len(order), out)
    return 0


def export(model, recipe: Recipe, base: Path, data_manifest: dict, state: dict, examples_seen: int,  # noqa: ANN001
           out: Path) -> None:
    """The adapter in bf16 (a few MB, merged in fp32 later) and its manifest, written beside and renamed."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to(torch.bfloat16).save_pretrained(tmp)
    manifest = {
        "name": recipe.name, "base_model": recipe.base_model,
        "base_weights_sha256": sha256_of(base / "model.safetensors"),
        "data_manifest_sha256": hashlib.sha256(json.dumps(data_manifest, sort_keys=True).encode()).hexdigest(),
        "data": data_manifest, "recipe": recipe.model_dump(exclude={"sha256"}), "recipe_sha256": recipe.sha256,
        "seed": recipe.seed, "steps": state["step"], "examples_seen": examples_seen,
        "final_loss": state["final_loss"], "train_seconds": round(state["seconds"], 1),
        "examples_per_second": round(examples_seen / state["seconds"], 3),
        "tokens_per_second": round(state["tokens"] / state["seconds"], 1),
        "adapter_sha256": sha256_of(tmp / "adapter_model.safetensors"),
        "torch_threads": recipe.train.threads,
    }
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    print(json.dumps({k: v for k, v in manifest.items() if k not in ("data", "recipe")}, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True, help="Checkpoints and the loss log.")
    parser.add_argument("--out", type=Path, required=True, help="Where the finished adapter goes.")
    parser.add_argument("--max-minutes", type=float, default=None)
    args = parser.parse_args(argv)
    try:
        return train(Recipe.load(args.recipe), args.data, args.run, args.out, args.max_minutes)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
