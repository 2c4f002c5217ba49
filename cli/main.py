"""The `distrust` command line: the verbs of each concern, merged into one Typer app."""

from __future__ import annotations

import typer

from cli import (
    data_commands,
    eval_commands,
    job_commands,
    key_commands,
    model_commands,
    stack_commands,
    store_commands,
)

app = typer.Typer(
    help="distrust: Empirical Distrust training and serving on MLX.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for verbs in (
    stack_commands.app,
    data_commands.app,
    job_commands.app,
    model_commands.app,
    eval_commands.app,
    key_commands.app,
    store_commands.app,
):
    app.add_typer(verbs)


def main() -> None:
    """Run the command line."""
    app()


if __name__ == "__main__":
    main()
