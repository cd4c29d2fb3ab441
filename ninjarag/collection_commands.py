"""`ninjarag collections create|list|delete`, `ninjarag ingest COLLECTION FILES...` and
`ninjarag feedback export`: the gateway's API, called with NINJARAG_API_KEY or the local admin key."""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from ninjarag.collections_api import GatewayApi, upload_batches
from ninjarag.errors import UserError, fail
from ninjarag.settings import StackSettings
from services.common.contracts.collections import IngestJob

collections_app = typer.Typer(no_args_is_help=True, help="Collections: named corpora with their own index.")
feedback_app = typer.Typer(no_args_is_help=True, help="Feedback users gave on answers.")
SHOWN_ERRORS = 20


def _api() -> GatewayApi:
    return GatewayApi.local(StackSettings())



@collections_app.command("list")
def collections_list() -> None:
    """The collections your key may read: documents, passages, index version."""
    try:
        with _api() as api:
            for c in api.collections():
                flag = " (read-only)" if c.read_only else ""
                typer.echo(f"{c.name:<24} {c.documents:>7} docs {c.passages:>8} passages  {c.index_version}{flag}")
    except UserError as exc:
        fail(str(exc))


@collections_app.command("create")
def collections_create(name: Annotated[str, typer.Argument(help="Lower-case letters, digits, - and _.")],
                       description: Annotated[str, typer.Option(help="What the collection holds.")] = "") -> None:
    try:
        with _api() as api:
            created = api.create(name, description)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"created {created.name}; add documents with `ninjarag ingest {created.name} FILES...`")


@collections_app.command("delete")
def collections_delete(name: Annotated[str, typer.Argument()]) -> None:
    """Delete a collection: its documents and index are gone at once."""
    try:
        with _api() as api:
            api.delete(name)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"deleted {name}")


def ingest(collection: Annotated[str, typer.Argument(help="The collection to add the documents to.")],
           files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True, help=(
               ".jsonl (id, title, text, metadata per line), .txt, .md, .html or .pdf"))]) -> None:
    """Upload documents and follow the ingestion job (or jobs, for more than 32 MiB) to the end."""
    failed = False
    try:
        with _api() as api:
            for batch in upload_batches(files):
                job = _follow(api, api.upload(collection, batch))
                failed |= job.state == "failed" or job.counts.indexed + job.counts.deleted == 0
    except UserError as exc:
        fail(str(exc))
    raise typer.Exit(1 if failed else 0)


def _follow(api: GatewayApi, job: IngestJob) -> IngestJob:
    with tqdm(total=100, desc=f"job {job.id[:8]}", unit="%", file=sys.stderr, bar_format=(
            "{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}")) as bar:
        def show(current: IngestJob) -> None:
            bar.set_postfix_str(f"{current.stage}, {current.counts.indexed} documents")
            bar.update(round(current.progress * 100) - bar.n)

        job = api.follow(job, show)
    counts = job.counts
    typer.echo(f"{job.state}: {counts.indexed} documents indexed, {counts.failed} refused, {counts.passages} passages "
               f"in {job.collection} (version {job.index_version}) in {job.seconds:.1f} s")
    if job.reason:
        typer.echo(f"  failed: {job.reason}")
    for error in job.errors[:SHOWN_ERRORS]:
        where = f" {error.document}" if error.document else ""
        typer.echo(f"  {error.file}{where}: {error.error}")
    if len(job.errors) > SHOWN_ERRORS:
        typer.echo(f"  ... and {len(job.errors) - SHOWN_ERRORS} more (GET /v1/jobs/{job.id} lists them)")
    return job


@feedback_app.command("export")
def feedback_export(since: Annotated[str | None, typer.Option(help="An entry id or a Unix time in ms.")] = None,
                    out: Annotated[Path | None, typer.Option(help="A JSONL file; default: standard output.")] = None
                    ) -> None:
    """Every feedback record (an admin key's view) as JSON lines, oldest first."""
    try:
        with _api() as api, (out.open("w", encoding="utf-8") if out else nullcontext(sys.stdout)) as sink:
            count = 0
            for record in api.feedback(since):
                sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    except UserError as exc:
        fail(str(exc))
    if out:
        typer.echo(f"{count} feedback records written to {out}")
