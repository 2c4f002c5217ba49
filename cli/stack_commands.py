"""The stack's verbs: `up`, `down`, `status`, `env` (a Typer app merged into the top level)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from cli.output import console, fail
from cli.stack import control
from shared.errors import DistrustError

app = typer.Typer()


@app.command()
def up(
    foreground: bool = typer.Option(False, "--foreground", help="Stay attached (development); Ctrl-C stops the stack."),
) -> None:
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
        raise fail(exc) from None
    console.print(
        "[green]stack is up[/green]" + (f" in {info.seconds:.1f} s" if info.seconds else " (already running)")
    )
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
        raise fail(exc) from None
    table = Table("part", "health", "pid", "rss", "detail")
    for row in rows:
        table.add_row(
            row.name,
            "[green]ok[/green]" if row.healthy else "[red]failing[/red]",
            str(row.pid or "-"),
            f"{row.rss_mb:.0f} MB" if row.rss_mb is not None else "-",
            row.detail,
        )
    console.print(table)
    from cli.commands.blas import blas_status_line

    console.print(blas_status_line(), soft_wrap=True)
    _print_worker_blas()
    if not all(row.healthy for row in rows):
        raise typer.Exit(1)


def _print_worker_blas() -> None:
    """Each trainer worker's BLAS, as the gateway reports it (workers may run on other hosts)."""
    from cli.client import GatewayClient
    from cli.commands.recommend import worker_blas_lines

    try:
        client = GatewayClient.from_env()
    except DistrustError:
        return  # no gateway to ask: the line above is all there is
    for line in worker_blas_lines(client):
        console.print(line, soft_wrap=True)


@app.command()
def env() -> None:
    """Print `export` lines for DISTRUST_BASE_URL and DISTRUST_API_KEY (use with eval)."""
    data = control.data_dir()
    state = control.running_state(data)
    from cli.stack.layout import LocalStackSettings, Ports, gateway_url

    url = state.gateway_url if state else gateway_url(Ports.from_env(LocalStackSettings()))
    sys.stdout.write(f"export DISTRUST_BASE_URL={url}\nexport DISTRUST_API_KEY={data.secrets().api_key}\n")
