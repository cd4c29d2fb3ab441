"""The `ninjarag` command."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from pydantic import ValidationError

from ninjarag import ask as ask_module
from ninjarag import envs, stack, testing
from ninjarag import collection_commands, key_commands, variant_commands
from ninjarag import keys as keys_module
from ninjarag.errors import UserError, fail
from ninjarag.finetune import commands as finetune_commands
from ninjarag.eval.systems import DEFAULT_SYSTEMS, SYSTEMS
from ninjarag.prepare import first_run, nq
from ninjarag.prepare.steps import StepResult, build_steps, models_to_prepare, run_steps
from ninjarag.settings import StackSettings
from services.common.contracts.answer import AnswerRequest
from services.common.corpus import CorpusFormatError, iter_passages
from services.common.paths import DEFAULT_GENERATOR_MODEL

app = typer.Typer(no_args_is_help=True, add_completion=False, help="ninjarag: guarded, cited answers from a corpus.")
corpus_app = typer.Typer(no_args_is_help=True, help="Inspect corpus files.")
app.add_typer(corpus_app, name="corpus")
index_app = typer.Typer(no_args_is_help=True, help="Build retriever indexes.")
app.add_typer(index_app, name="index")
app.add_typer(key_commands.keys_app, name="keys")
app.add_typer(finetune_commands.app, name="finetune")
app.add_typer(collection_commands.collections_app, name="collections")
app.add_typer(collection_commands.feedback_app, name="feedback")
app.command("ingest")(collection_commands.ingest)
app.add_typer(variant_commands.variants_app, name="variants")

DEFAULT_QUESTION = "Who directed the film 2001: A Space Odyssey?"



@app.callback()
def _check_settings() -> None:
    """Every command reads the NINJARAG_* settings: a bad one is named before any command runs."""
    try:
        StackSettings()
    except ValidationError as exc:
        problems = "; ".join(f"NINJARAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        fail(f"bad setting: {problems}")


def _report_step(number: int, total: int, result: StepResult) -> None:
    state = f"done in {result.seconds:.1f}s" if result.did_work else "up to date"
    counts = {key: value for key, value in result.counts.items() if key != "installed" and value}
    typer.echo(f"[{number}/{total}] {result.name}: {state}" + (f" {json.dumps(counts)}" if counts else ""))


def _prepare(settings: StackSettings, only: list[str] | None = None, for_tests: bool = True,
             skip: tuple[str, ...] = ()) -> list[StepResult]:
    started = time.perf_counter()
    models = models_to_prepare(settings.compare_models, os.environ.get("GENERATOR_MODEL") or DEFAULT_GENERATOR_MODEL,
                               only or ())
    steps = [step for step in build_steps(settings.paths, models, for_tests) if step.name not in skip]
    if only:
        unknown = sorted(set(only) - {step.name for step in steps})
        if unknown:
            raise UserError(f"no prepare step {', '.join(unknown)}; steps: {', '.join(step.name for step in steps)}")
        steps = [step for step in steps if step.name in only]
    with first_run.prepare_lock(settings.paths, typer.echo):
        results = run_steps(settings.paths, steps, _report_step)
    work = sum(result.did_work for result in results)
    typer.echo(f"prepared in {time.perf_counter() - started:.1f}s ({work} steps did work); manifest: {settings.paths.manifest}")
    return results


@app.command()
def prepare(
    only: Annotated[list[str] | None, typer.Option(help="Run only these steps (containers prepare data this way).")] = None,
) -> None:
    """Install what is missing (Redis, service environments, data packages) and prepare data and models."""
    try:
        _prepare(StackSettings(), only)
    except UserError as exc:
        fail(str(exc))


@app.command()
def up() -> None:
    """Start Redis and the four services on loopback (those not running, if the stack is up) and wait until each is ready."""
    settings = StackSettings()
    try:
        progs = stack.up(settings, typer.echo)
    except UserError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        typer.echo("interrupted: stopped everything that had started")
        raise typer.Exit(130) from None
    typer.echo("\nninjarag is up:")
    for prog in progs:
        typer.echo(f"  {prog.name:<10} {prog.url(settings.host):<28} log: {settings.run_path / 'logs' / (prog.name + '.log')}")
    typer.echo("stop it with `ninjarag down`")


@app.command()
def restart(service: Annotated[str, typer.Argument(help="redis, retriever, generator, guard or gateway.")]) -> None:
    """Restart one program of the running stack and wait until it is ready again."""
    settings = StackSettings()
    try:
        stack.restart(settings, service, typer.echo)
    except UserError as exc:
        fail(str(exc))


@app.command()
def down() -> None:
    """Stop the local stack; no process is left behind."""
    settings = StackSettings()
    typer.echo("stopped" if stack.down(settings) else "nothing was running")


@app.command()
def status() -> None:
    """Show whether the local stack runs, each program's state and its readiness checks."""
    settings = StackSettings()
    if not stack.supervisord_pid(settings):
        typer.echo("not running")
        raise typer.Exit(1)
    checks = stack.readiness_checks(settings)
    for name, state in stack.program_states(settings).items():
        typer.echo(f"{name:<10} {state}" + (f"  {checks[name]}" if checks.get(name) else ""))


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question to answer.")],
    top_k: Annotated[int, typer.Option(min=1, max=100, help="Passages to retrieve.")] = 10,
    collection: Annotated[str | None, typer.Option(help="The collection to answer from (default: demo).")] = None,
) -> None:
    """Ask the running gateway a question and print the streamed answer and its sources."""
    settings = StackSettings()
    try:
        AnswerRequest(question=question, top_k=top_k, collection=collection)
    except ValueError as exc:  # the question fails the request contract: say so before calling anything
        fail(f"invalid question: {exc}")
    try:
        ask_module.ask(settings.gateway_url, question, keys_module.demo_key(settings), top_k, typer.echo, collection)
    except UserError as exc:
        fail(str(exc))


@app.command("eval")
def evaluate(
    questions: Annotated[Path | None, typer.Option(
        help="JSONL with `question` and `answers`; default: the held-back part of NQ-open dev.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N questions.")] = None,
    systems: Annotated[str, typer.Option(help=f"Comma-separated, from: {', '.join(SYSTEMS)}.")] = ",".join(DEFAULT_SYSTEMS),
    out: Annotated[Path, typer.Option(help="Folder for records.jsonl, results.json, summary.md and the plots.")] = Path("eval-results"),
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Questions in flight at once.")] = 4,
    top_k: Annotated[int, typer.Option(min=1, max=100)] = 10,
    max_tokens: Annotated[int, typer.Option(min=1, max=4096)] = 64,
    restart: Annotated[bool, typer.Option(help="Discard the records already in --out instead of resuming.")] = False,
    gateway: Annotated[list[str] | None, typer.Option(
        help="NAME=URL, repeatable: compare gateways (e.g. two models, NINJARAG_COMPARE_MODEL) in one run; "
             "default: the stack's gateway.")] = None,
    variant: Annotated[list[str] | None, typer.Option(
        help="Repeatable: compare generator variants behind the stack's gateway (GATEWAY_VARIANTS) in one run.")] = None,
) -> None:
    """Evaluate the running stack: accuracy, recall@k, citation quality and latency per system."""
    from ninjarag.eval.runner import EvalConfig, run_eval  # noqa: PLC0415 - matplotlib only when evaluating

    settings = StackSettings()
    gateways = dict(item.split("=", 1) for item in gateway or [] if "=" in item)
    if len(gateways) != len(gateway or []):
        fail("--gateway takes NAME=URL, e.g. --gateway tuned=http://127.0.0.1:8010")
    gateways |= {name: settings.gateway_url for name in variant or []}
    config = EvalConfig(
        questions=questions or settings.paths.nq_heldback, out=out,
        gateways=gateways or {"served": settings.gateway_url},
        guard_url=f"http://{settings.host}:{settings.guard_port}", api_key=None,
        systems=[name.strip() for name in systems.split(",") if name.strip()], limit=limit,
        concurrency=concurrency, top_k=top_k, max_tokens=max_tokens, restart=restart,
        command="ninjarag eval " + " ".join(sys.argv[2:]),
        split=f"custom file {questions}" if questions else f"NQ-open dev, held-back part ({nq.SPLIT_RULE})",
        models={name: name for name in variant or []})
    try:
        config.api_key = keys_module.demo_key(settings)
        config.service_token = settings.secrets.service_token
        outcome = run_eval(config)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"\n{outcome.table}\n")
    typer.echo(f"asked {outcome.asked}, resumed {outcome.resumed}; wrote " + ", ".join(str(p) for p in outcome.files))


@app.command()
def demo(question: Annotated[str, typer.Argument(help="The question to answer.")] = DEFAULT_QUESTION) -> None:
    """The main job: prepare, start the whole stack, and answer a question. The stack keeps running."""
    settings = StackSettings()
    home = settings.paths
    try:
        if first_run.serves_lexical_only(home) and first_run.prepare_running(home):
            typer.echo("the demo index is still building in the background; until then answers come from BM25")
        elif not (home.demo_index / "manifest.json").is_file():  # a first run: answer before the dense index
            _prepare(settings, for_tests=False, skip=first_run.BACKGROUND_STEPS)
            first_run.build_lexical_index(home)
            log_path = first_run.start_background_build(home)
            typer.echo(f"the demo index (ColBERT and BM25) builds in the background, about 10 minutes on 2 cores "
                       f"(log: {log_path}); until the retriever reloads it, answers come from BM25 alone")
        else:
            _prepare(settings, for_tests=False)
        if not stack.supervisord_pid(settings):
            stack.up(settings, typer.echo)
        typer.echo(f"\nQ: {question}\n")
        ask_module.ask(settings.gateway_url, question, keys_module.demo_key(settings), 10, typer.echo)
    except UserError as exc:
        fail(str(exc))
    typer.echo("\nThe stack keeps running: `ninjarag ask \"...\"` for more, `ninjarag down` to stop.")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test(
    ctx: typer.Context,
    only: Annotated[list[str] | None, typer.Option(help="Run only these suites (e.g. generator).")] = None,
) -> None:
    """Prepare, then run every suite in its own environment; extra arguments go to pytest."""
    settings = StackSettings()
    try:
        _prepare(settings)
    except UserError as exc:
        fail(str(exc))
    totals = testing.run_suites(settings.paths, only or [], ctx.args, typer.echo)
    typer.echo(f"\nninjarag: {totals.passed} passed, {totals.failed} failed, {totals.skipped} skipped")
    raise typer.Exit(1 if totals.failed or not totals.passed else 0)


@corpus_app.command("check")
def corpus_check(path: Annotated[Path, typer.Argument(help="A JSONL corpus: one {id, title, text} per line.")]) -> None:
    """Validate a corpus file and print its counts."""
    try:
        count = words = 0
        for passage in iter_passages(path):
            count += 1
            words += len(passage.text.split())
    except (CorpusFormatError, FileNotFoundError) as exc:
        fail(str(exc))
    typer.echo(json.dumps({"passages": count, "words": words, "mean_words": round(words / max(count, 1), 1)}))


@index_app.command("build")
def index_build(
    corpus: Annotated[Path, typer.Option(help="JSONL corpus: one {id, title, text} per line.")],
    out: Annotated[Path, typer.Option(help="Index folder to write (replaced when the build completes).")],
    checkpoint: Annotated[Path | None, typer.Option(help="ColBERT checkpoint folder [default: the local MiniLM one].")] = None,
    encoding: Annotated[str, typer.Option(help="'plain' (local MiniLM) or 'colbert' (a trained ColBERT).")] = "plain",
    nbits: Annotated[int, typer.Option(help="Bits per residual dimension: 1, 2 or 4.")] = 2,
) -> None:
    """Encode a corpus with a ColBERT checkpoint into a PLAID index, plus BM25 and a manifest."""
    settings = StackSettings()
    home = settings.paths
    try:
        for passage_count, _ in enumerate(iter_passages(corpus), start=1):
            pass
    except (CorpusFormatError, FileNotFoundError) as exc:
        fail(str(exc))
    if not envs.python_of(home, "retriever").exists():
        fail("the retriever environment is missing: run `ninjarag prepare` first")
    typer.echo(f"indexing {passage_count:,} passages from {corpus} into {out}")
    args = ["services.retriever.build.indexing", "--corpus", str(corpus.resolve()), "--out", str(out.resolve()),
            "--checkpoint", str((checkpoint or home.colbert_checkpoint).resolve()), "--encoding", encoding,
            "--nbits", str(nbits)]
    try:
        envs.run_module(home, "retriever", args, "index build", envs.retriever_env_vars(home))
    except UserError as exc:
        fail(str(exc))


@index_app.command("build-demo")
def index_build_demo() -> None:
    """Build the demo index (`prepare`'s colbert-extensions and demo-index steps) and have the running
    retriever load it: what a first `demo` leaves running in the background."""
    settings = StackSettings()
    try:
        _prepare(settings, only=list(first_run.BACKGROUND_STEPS))
    except UserError as exc:
        fail(str(exc))
    if not stack.supervisord_pid(settings):
        typer.echo("the stack is not running: it loads the new index when it starts")
        return
    try:
        response = httpx.post(f"http://{settings.host}:{settings.retriever_port}/v1/admin/reload", json={},
                              headers={"Authorization": f"Bearer {settings.secrets.admin_token}"}, timeout=600)
    except httpx.HTTPError as exc:
        fail(f"the retriever did not take the new index ({type(exc).__name__}: {exc}); `ninjarag restart retriever` loads it")
    if response.status_code != 200:
        fail(f"the retriever did not take the new index ({response.status_code}: {response.text[:300]}); "
             "`ninjarag restart retriever` loads it")
    typer.echo(f"the retriever serves the new index: {response.json()}")
