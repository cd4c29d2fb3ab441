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


class Run:
    """One training run: the model with its optimizer and schedule, the example order, and how far it got
    (`state`, saved with every checkpoint)."""

    def __init__(self, recipe: Recipe, data_dir: Path, run_dir: Path) -> None:
        torch.manual_seed(recipe.seed)
        torch.set_num_threads(recipe.train.threads)
        self.recipe, self.run_dir = recipe, run_dir
        self.examples, self.data_manifest = load_examples(data_dir)
        self.order = [i for epoch in range(recipe.train.epochs)
                      for i in random.Random(recipe.seed + epoch).sample(range(len(self.examples)), len(self.examples))]
        self.total_steps = math.ceil(len(self.order) / recipe.train.grad_accumulation)
        self.base = Home.from_env().models / recipe.base_model
        self.model = build_model(recipe, self.base)
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad],
                                           lr=recipe.train.learning_rate)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, schedule(recipe, self.total_steps))
        self.checkpoints = Checkpoints(run_dir)
        self.state = {"step": 0, "position": 0, "seconds": 0.0, "tokens": 0, "recipe_sha256": recipe.sha256,
                      "data_sha256": self.data_manifest["examples_sha256"]}
        self.losses: list[float] = []

    @property
    def finished(self) -> bool:
        return self.state["position"] >= len(self.order)

    def resume(self) -> None:
        """Continue from the newest checkpoint, if there is one of this recipe and dataset."""
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        latest = self.checkpoints.latest()
        if latest is None:
            return
        saved = json.loads((latest / "state.json").read_text())
        if (saved["recipe_sha256"], saved["data_sha256"]) != (self.state["recipe_sha256"], self.state["data_sha256"]):
            raise ValueError(f"{latest} was trained from another recipe or dataset: move {self.run_dir} away to start over")
        set_peft_model_state_dict(self.model, load_file(latest / "adapter_model.safetensors"))
        trainer = torch.load(latest / "trainer.pt", weights_only=False)
        self.optimizer.load_state_dict(trainer["optimizer"])
        self.scheduler.load_state_dict(trainer["scheduler"])
        torch.set_rng_state(trainer["rng"])
        self.state = saved
        print(f"resuming from {latest.name}: step {saved['step']} of {self.total_steps}", file=sys.stderr)

    def step(self, progress: tqdm) -> float:
        """One optimizer step over the next grad_accumulation examples; their mean loss."""
        chunk = self.order[self.state["position"]: self.state["position"] + self.recipe.train.grad_accumulation]
        losses = []
        for index in chunk:
            prompt_ids, target_ids = self.examples[index]
            loss = answer_loss(self.model, prompt_ids, target_ids)
            (loss / len(chunk)).backward()
            losses.append(loss.item())
            self.state["tokens"] += len(prompt_ids) + len(target_ids)
            progress.update()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.state["step"] += 1
        self.state["position"] += len(chunk)
        self.losses += losses
        return sum(losses) / len(losses)

    def recent_loss(self) -> float:
        return round(sum(self.losses[-64:]) / len(self.losses[-64:]), 4)

    def checkpoint(self) -> None:
        self.state["final_loss"] = self.recent_loss()
        self.checkpoints.save(self.model, self.optimizer, self.scheduler, self.state)


def train(recipe: Recipe, data_dir: Path, run_dir: Path, out: Path, max_minutes: float | None) -> int:
    run = Run(recipe, data_dir, run_dir)
    run.resume()
    run.model.train()
    run_dir.mkdir(parents=True, exist_ok=True)
    keep_loss_log_until(run_dir / "loss.jsonl", run.state["step"])
    started, budget_s, seconds_before = time.monotonic(), (max_minutes * 60 if max_minutes else math.inf), run.state["seconds"]
    with (run_dir / "loss.jsonl").open("a") as loss_log, tqdm(total=len(run.order), initial=run.state["position"],
                                                              unit="example", desc="training", dynamic_ncols=True) as progress:
        while not run.finished:
            step_loss = run.step(progress)
            run.state["seconds"] = seconds_before + time.monotonic() - started
            loss_log.write(json.dumps({"step": run.state["step"], "examples": run.state["position"],
                                       "loss": round(step_loss, 4), "lr": run.scheduler.get_last_lr()[0],
                                       "seconds": round(run.state["seconds"], 1)}) + "\n")
            loss_log.flush()
            progress.set_postfix_str(f"loss {run.recent_loss():.3f}")
            out_of_time = time.monotonic() - started > budget_s
            if run.finished or out_of_time or run.state["step"] % recipe.train.checkpoint_every == 0:
                run.checkpoint()
            if out_of_time and not run.finished:
                print(f"stopped after {max_minutes} minutes at step {run.state['step']} of {run.total_steps}; "
                      "run the same command again to resume", file=sys.stderr)
                return 3
    export(run.model, recipe, run.base, run.data_manifest, run.state, len(run.order), out)
    return 0


def export(model, recipe: Recipe, base: Path, data_manifest: dict, state: dict, examples_seen: int,  # noqa: ANN001
           out: Path) -> None:
    """The adapter in bf16 (a few MB, merged in fp32 later) and its manifest, written beside and renamed."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.to(torch.bfloat16).save_pretrained(tmp)
    (tmp / "README.md").unlink(missing_ok=True)  # peft's empty model-card template; manifest.json says it all
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
