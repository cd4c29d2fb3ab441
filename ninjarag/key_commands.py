"""`ninjarag keys create|list|revoke`: API keys in the stack's Redis, with the collections each may
read and write."""

from __future__ import annotations

import re
from typing import Annotated

import typer

from ninjarag import keys as keys_module
from ninjarag.errors import UserError, fail
from ninjarag.settings import StackSettings
from services.common.contracts.collections import NAME_PATTERN

keys_app = typer.Typer(no_args_is_help=True, help="API keys (stored hashed in the stack's Redis).")



@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who the key is for.")],
    rate: Annotated[int, typer.Option(min=1, help="Requests per minute.")] = 60,
    read: Annotated[str, typer.Option(help="Collections it may read, comma-separated; * for all.")] = "demo",
    write: Annotated[str, typer.Option(help="Collections it may create, ingest into and delete; * for all.")] = "",
    admin: Annotated[bool, typer.Option(help="Every collection, and reading feedback.")] = False,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    try:
        key, record = keys_module.create(StackSettings(), name, rate, _names(read), _names(write), admin)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"{key}\n(id {record.key_id}, {record.name}, {record.rate_per_minute}/min, {_scopes(record)}; "
               "shown once: store it now)")


def _names(option: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in option.split(",") if name.strip())
    bad = [n for n in names if n != "*" and not re.fullmatch(NAME_PATTERN, n)]
    if bad:
        fail(f"not a collection name: {', '.join(bad)} (lower-case letters, digits, - and _)")
    return names


def _scopes(key) -> str:  # noqa: ANN001 - services.gateway.keys.ApiKey
    if key.admin:
        return "admin"
    return f"read {','.join(sorted(key.read)) or '-'}, write {','.join(sorted(key.write)) or '-'}"


@keys_app.command("list")
def keys_list() -> None:
    """List keys: id, name, rate, state (never the keys themselves)."""
    try:
        for key in keys_module.list_keys(StackSettings()):
            state = "revoked" if key.revoked else "active"
            typer.echo(f"{key.key_id}  {key.name:<20} {key.rate_per_minute:>5}/min  {state:<8} {_scopes(key)}")
    except UserError as exc:
        fail(str(exc))


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="The id `keys list` shows.")]) -> None:
    """Revoke a key: requests with it get 401 from then on."""
    try:
        revoked = keys_module.revoke(StackSettings(), key_id)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"revoked {revoked.key_id} ({revoked.name})")
