"""The `distrust` command line."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

from cli.stack import control
from shared.errors import DistrustError

app = typer.Typer(help="distrust: Empirical Distrust training and serving on MLX.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)


def _fail(exc: DistrustError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message}")
    return typer.Exit(2 if exc.type == "configuration_error" else 1)


@app.command()
def up(foreground: bool = typer.Option(False, "--foreground", help="Stay attached (development); "
                                                                   "Ctrl-C stops the stack.")) -> None:
    """Start the local stack (Redis, S3, scorer, trainer, inference, worker, gateway) and wait until healthy."""
    if foreground:
        from cli.stack.layout import LocalStackSettings
        from cli.stack.supervisor import Supervisor
        from shared.log import configure_logging
        from shared.settings import LogSettings

        configure_logging(LogSettings(), service="supervisor")
        raise typer.Exit(Supervisor(LocalStackSettings()).run())
    try:
        with console.status("starting the stack...") as status:
            info = control.start_background(on_wait=lambda phase: status.update(f"stack: {phase}..."))
    except DistrustError as exc:
        raise _fail(exc) from None
    console.print(f"[green]stack is up[/green]" + (f" in {info.seconds:.1f} s" if info.seconds else " (already running)"))
    console.print(f"gateway: {info.gateway_url}")
    console.print(f"api key: {info.api_key}")
    console.print(f"data:    {info.data_dir}")
    console.print('use it from a shell with: eval "$(distrust env)"')


@app.command()
def down() -> None:
    """Stop everything `distrust up` started."""
    if control.stop(control.data_dir()):
        console.print("stack stopped")
    else:
        console.print("stack is not running")


@app.command()
def status() -> None:
    """Print each part's health; exit non-zero unless all are healthy."""
    try:
        rows = control.component_health(control.data_dir())
    except DistrustError as exc:
        raise _fail(exc) from None
    table = Table("part", "health", "detail")
    for name, ok, detail in rows:
        table.add_row(name, "[green]ok[/green]" if ok else "[red]failing[/red]", detail)
    console.print(table)
    if not all(ok for _, ok, _ in rows):
        raise typer.Exit(1)


@app.command()
def env() -> None:
    """Print `export` lines for DISTRUST_BASE_URL and DISTRUST_API_KEY (use with eval)."""
    data = control.data_dir()
    state = control.running_state(data)
    from cli.stack.layout import LocalStackSettings, Ports, gateway_url

    url = (state or {}).get("gateway_url") or gateway_url(Ports.from_env(LocalStackSettings()))
    sys.stdout.write(f"export DISTRUST_BASE_URL={url}\nexport DISTRUST_API_KEY={data.secrets().api_key}\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
