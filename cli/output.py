"""What every command prints with: the consoles, and a typed error turned into a message and an exit code."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from shared.errors import DistrustError

console = Console()
err = Console(stderr=True)


def fail(exc: DistrustError) -> typer.Exit:
    """Print `exc` on stderr; the exit code is 2 for a configuration error, else 1."""
    err.print(f"[red]error:[/red] {escape(exc.message)}")
    return typer.Exit(2 if exc.type == "configuration_error" else 1)
