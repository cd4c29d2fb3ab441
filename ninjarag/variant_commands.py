"""`ninjarag variants report`: the generator variants compared on the answers they gave (admin key)."""

from __future__ import annotations

from typing import Annotated

import typer

from ninjarag.collections_api import GatewayApi
from ninjarag.errors import UserError, fail
from ninjarag.settings import StackSettings

variants_app = typer.Typer(no_args_is_help=True, help="Generator variants (A/B and shadow).")


def _interval(value: dict | None, scale: float = 1.0, digits: int = 1) -> str:
    if value is None:
        return "-"
    return (f"{value['mean'] * scale:.{digits}f} [{value['low'] * scale:.{digits}f}, "
            f"{value['high'] * scale:.{digits}f}]")


@variants_app.command("report")
def report(last: Annotated[int, typer.Option(min=1, help="How many recent answers to read.")] = 10_000) -> None:
    """Per variant and role: answers, first sentence and total ms, completion tokens, refused and
    imperfect shares, each as mean [95% interval]."""
    try:
        with GatewayApi.local(StackSettings()) as api:
            body = api.variant_report(last)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"{body['answers_read']} answers read, {body['shadow_pairs']} shadow pairs")
    typer.echo(f"{'variant':<14} {'role':<7} {'n':>5}  {'first sentence ms':<26} {'tokens':<22} {'refused %':<22}")
    for row in body["variants"]:
        typer.echo(f"{row['variant']:<14} {row['role']:<7} {row['answers']:>5}  "
                   f"{_interval(row['first_sentence_ms']):<26} {_interval(row['completion_tokens']):<22} "
                   f"{_interval(row['refused'], 100):<22}")
