"""The one error type the command line reports: one line that says what to do."""

from __future__ import annotations

from typing import NoReturn


class UserError(Exception):
    """Printed as a single line, exit code 2, no traceback."""


def fail(message: str) -> NoReturn:
    """End a command with the message on standard error and exit status 2 (the usage-error status)."""
    import typer

    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(2)
