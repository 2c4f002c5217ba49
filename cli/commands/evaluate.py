"""`distrust eval`, `distrust export`, `distrust charts`: evaluation and export jobs followed with progress bars."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cli.client import GatewayClient
from cli.commands.progress import count_progress
from services.gateway.schemas.evaluation import Eval
from services.gateway.schemas.export import ModelExport
from services.gateway.schemas.fine_tuning import FineTuningJobEvent
from shared.schemas.evaluation import MetricValue

TERMINAL = ("succeeded", "failed", "cancelled")


def resolve_eval_file(client: GatewayClient, value: str, purpose: str, console: Console) -> str:
    """A local path is uploaded with `purpose`; anything else is taken as a file id."""
    path = Path(value)
    if path.is_file():
        file_id = client.upload(path, purpose)
        console.print(f"uploaded {path} as {file_id}")
        return file_id
    return value


def follow_eval(client: GatewayClient, record: Eval, console: Console) -> Eval:
    """Follow an evaluation's events (one bar step per task on one model) until it ends."""
    path = f"/v1/evals/{record.id}"
    with count_progress(console) as progress:
        bar = progress.add_task("evaluating", total=record.progress.total or None, note="")
        for event in client.stream_events(FineTuningJobEvent, "GET", f"{path}/events", params={"stream": "true"}):
            data = event.data  # open: its keys depend on the event's type
            if event.type == "progress":
                note = f"{data.get('model')}: {data.get('task')}" if data.get("model") else "done"
                progress.update(bar, completed=data.get("done", 0), total=data.get("total"), note=note)
            elif event.status or event.level != "info":
                style = {"error": "red", "warn": "yellow"}.get(event.level, "dim")
                console.print(f"[{style}]{event.message}[/{style}]")
    return client.fetch(Eval, "GET", path)


def follow_export(client: GatewayClient, record: ModelExport, console: Console) -> ModelExport:
    """Follow an export's events (one bar step per step of the export) until it ends."""
    path = f"/v1/models/exports/{record.id}"
    with count_progress(console) as progress:
        bar = progress.add_task("exporting", total=None, note="")
        for event in client.stream_events(FineTuningJobEvent, "GET", f"{path}/events", params={"stream": "true"}):
            progress.update(bar, advance=1, note=event.message)
    return client.fetch(ModelExport, "GET", path)


def summary_table(record: Eval) -> Table:
    """The side-by-side summary: one row per metric, one column per model."""
    table = Table(title=f"evaluation {record.id}")
    table.add_column("metric")
    for model in record.models:
        table.add_column(model, justify="right")
    metrics = record.summary.metrics if record.summary else {}
    for metric, values in metrics.items():
        table.add_row(metric, *[_fmt(values.get(m)) for m in record.models])
    return table


def _fmt(value: MetricValue) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def save_eval_outputs(
    client: GatewayClient, record: Eval, *, charts: Path | None, output: Path | None, console: Console
) -> None:
    """Save the full report to `output` and the evaluation's charts into `charts`, each when given."""
    if output is not None:
        results = client.request("GET", f"/v1/evals/{record.id}/results")  # open: the full evaluation report
        output.write_text(json.dumps(results, indent=2))
        console.print(f"results written to {output}")
    if charts is None:
        return
    charts.mkdir(parents=True, exist_ok=True)
    kinds = {t.type for t in record.tasks}
    wanted = (["perplexity"] if "perplexity" in kinds else []) + (
        ["accuracy"] if kinds & {"source_preference", "truthfulqa"} else []
    )
    for chart in wanted:
        path = client.download_path(f"/v1/evals/{record.id}/charts/{chart}.png", charts / f"{chart}.png")
        console.print(f"chart written to {path}")


def save_loss_chart(client: GatewayClient, job_id: str, directory: Path) -> Path:
    """Save a fine-tuning job's loss chart into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    return client.download_path(f"/v1/fine_tuning/jobs/{job_id}/charts/loss.png", directory / f"{job_id}-loss.png")
