"""`ninjarag finetune data|train`: each runs its module in the generator environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer

from ninjarag import envs
from ninjarag.errors import UserError
from ninjarag.finetune.plot import plot_loss
from ninjarag.finetune.recipe import DEFAULT_RECIPE, Recipe
from ninjarag.settings import StackSettings
from services.common.paths import ADAPTERS_DIR, Home

app = typer.Typer(no_args_is_help=True, help="Fine-tune the local generator model (LoRA, on the CPU).")
RecipeOption = Annotated[Path, typer.Option(help="The recipe TOML (data mix, prompt shape, training run).")]
# train.py's exit status when --max-minutes ran out before the last step.
STOPPED_FOR_TIME = 3


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)


def _recipe(path: Path, home: Home) -> Recipe:
    if not path.is_file():
        _fail(f"no recipe {path}")
    try:
        recipe = Recipe.load(path)
    except ValueError as exc:
        _fail(f"{path}: {exc}")
    if not (home.models / recipe.base_model / "config.json").is_file():
        _fail(f"the recipe's base model {recipe.base_model} is not prepared: run "
              f"`ninjarag prepare --only model:{recipe.base_model}`")
    return recipe


@app.command()
def data(recipe: RecipeOption = DEFAULT_RECIPE) -> None:
    """Build the training set by distant supervision (needs the stack's retriever: `ninjarag up`)."""
    settings = StackSettings()
    home = settings.paths
    parsed = _recipe(recipe, home)
    retriever_url = f"http://{settings.host}:{settings.retriever_port}"
    try:
        ready = httpx.get(f"{retriever_url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        ready = False
    if not ready:
        _fail(f"no ready retriever at {retriever_url}: the data is retrieved as served; start the stack with `ninjarag up`")
    try:
        envs.run_module(home, "generator", ["ninjarag.finetune.data", "--recipe", str(recipe.resolve()),
                        "--out", str(home.finetune / "data" / parsed.name), "--retriever-url", retriever_url],
                        "building the fine-tuning data", {"NINJARAG_SERVICE_TOKEN": settings.secrets.service_token})
    except UserError as exc:
        _fail(str(exc))


@app.command()
def train(
    recipe: RecipeOption = DEFAULT_RECIPE,
    max_minutes: Annotated[float | None, typer.Option(min=1, help="Stop (with a checkpoint) after this long; rerun to resume.")] = None,
) -> None:
    """Train the recipe's LoRA adapter; resumes from the newest checkpoint; writes adapters/<name>/."""
    settings = StackSettings()
    home = settings.paths
    parsed = _recipe(recipe, home)
    run_dir, out, data_dir = home.finetune / "runs" / parsed.name, ADAPTERS_DIR / parsed.name, home.finetune / "data" / parsed.name
    if not (data_dir / "manifest.json").is_file():
        _fail(f"no training data in {data_dir}: run `ninjarag finetune data` first")
    args = ["ninjarag.finetune.train", "--recipe", str(recipe.resolve()), "--data", str(data_dir),
            "--run", str(run_dir), "--out", str(out)] + (["--max-minutes", str(max_minutes)] if max_minutes else [])
    command = [str(envs.python_of(home, "generator")), "-m", *args]
    if not Path(command[0]).exists():
        _fail("the generator environment is missing: run `ninjarag prepare`")
    status = envs.run_command(command)
    if status == STOPPED_FOR_TIME:
        typer.echo(f"stopped for time; run `ninjarag finetune train` again to resume from {run_dir / 'checkpoints'}")
    elif status != 0:
        _fail(f"training failed (exit {status})")
    if (run_dir / "loss.jsonl").is_file():
        target = out if status == 0 else run_dir
        typer.echo(f"loss curve: {plot_loss(run_dir / 'loss.jsonl', target / 'loss.png', parsed.name)}")
    if status == 0:
        typer.echo(f"adapter: {out} (commit it; `ninjarag prepare` merges it into .ninjarag/models/{parsed.name})")
