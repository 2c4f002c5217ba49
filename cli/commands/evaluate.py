"""`distrust eval`, `distrust export`, `distrust charts`: evaluation and export jobs followed with progress bars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.client import GatewayClient
from cli.commands.progress import count_progress

TERMINAL = ("succeeded", "failed", "cancelled")


def resolve_eval_file(client: GatewayClient, value: str, purpose: str, console: Console) -> str:
    """A local path is uploaded with `purpose`; anything else is taken as a file id."""
    path = Path(value)
    if path.is_file():
        file_id = client.upload(path, purpose)
        console.print(f"uploaded {path} as {file_id}")
        return file_id
    return value


def follow_eval(client: GatewayClient, record: dict[str, Any], console: Console) -> dict[str, Any]:
    """Follow an evaluation's events (one bar step per task on one model) until it ends."""
    total = (record.get("progress") or {}).get("total") or None
    with count_progress(console) as progress:
        bar = progress.add_task("evaluating", total=total, note="")
        for event in client.stream_events("GET", f"/v1/evals/{record['id']}/events", params={"stream": "true"}):
            data = event.get("data") or {}
            if event["type"] == "progress":
                note = f"{data.get('model')}: {data.get('task')}" if data.get("model") else "done"
                progress.update(bar, completed=data.get("done", 0), total=data.get("total"), note=note)
            elif event.get("status") or event["level"] != "info":
                style = {"error": "red", "warn": "yellow"}.get(event["level"], "dim")
                console.print(f"[{style}]{event['message']}[/{style}]")
    final: dict[str, Any] = client.request("GET", f"/v1/evals/{record['id']}")
    return final


def follow_export(client: GatewayClient, record: dict[str, Any], console: Console) -> dict[str, Any]:
    """Follow an export's events (one bar step per step of the export) until it ends."""
    with count_progress(console) as progress:
        bar = progress.add_task("exporting", total=None, note="")
        for event in client.stream_events(
            "GET", f"/v1/models/exports/{record['id']}/events", params={"stream": "true"}
        ):
            progress.update(bar, advance=1, note=event["message"])
    final: dict[str, Any] = client.request("GET", f"/v1/models/exports/{record['id']}")
    return final


def summary_table(record: dict[str, Any]) -> Table:
    """The side-by-side summary: one row per metric, one column per model."""
    summary = record.get("summary") or {}
    table = Table(title=f"evaluation {record['id']}")
    table.add_column("metric")
    models = list(record["models"])
    for model in models:
        table.add_column(model, justify="right")
    for metric, values in summary.get("metrics", summary).items():
        if not isinstance(values, dict):
            continue
        table.add_row(metric, *[_fmt(values.get(m)) for m in models])
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def save_eval_outputs(
    client: GatewayClient, record: dict[str, Any], *, charts: Path | None, output: Path | None, console: Console
) -> None:
    """Save the full report to `output` and the evaluation's charts into `charts`, each when given."""
    if output is not None:
        results = client.request("GET", f"/v1/evals/{record['id']}/results")
        output.write_text(json.dumps(results, indent=2))
        console.print(f"results written to {output}")
    if charts is None:
        return
    charts.mkdir(parents=True, exist_ok=True)
    kinds = {t["type"] for t in record["tasks"]}
    wanted = (["perplexity"] if "perplexity" in kinds else []) + (
        ["accuracy"] if kinds & {"source_preference", "truthfulqa"} else []
    )
    for chart in wanted:
        path = client.download_path(f"/v1/evals/{record['id']}/charts/{chart}.png", charts / f"{chart}.png")
        console.print(f"chart written to {path}")


def save_loss_chart(client: GatewayClient, job_id: str, directory: Path) -> Path:
    """Save a fine-tuning job's loss chart into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    return client.download_path(f"/v1/fine_tuning/jobs/{job_id}/charts/loss.png", directory / f"{job_id}-loss.png")
