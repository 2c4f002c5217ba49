"""`distrust train`: create a fine-tuning job and follow it with a progress bar and the live loss."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from cli.client import GatewayClient
from services.gateway.schemas.fine_tuning import FineTuningJob, FineTuningJobEvent
from shared.errors import InvalidArgument

TERMINAL = ("succeeded", "failed", "cancelled")


def resolve_file(client: GatewayClient, value: str, console: Console) -> str:
    """A local path is uploaded (purpose fine-tune); anything else is taken as a file id."""
    path = Path(value)
    if path.is_file():
        file_id = client.upload(path, "fine-tune")
        console.print(f"uploaded {path} as {file_id}")
        return file_id
    return value


def method_fields(
    method: str,
    hyperparameters: Mapping[str, object],
    *,
    mode: str | None,
    alpha: float | None,
    beta: float | None,
    loss: str | None,
) -> dict[str, object]:
    """The create body's fields for the method: supervised (hyperparameters, distrust) or DPO (method, preference)."""
    given = {k: v for k, v in hyperparameters.items() if v is not None}
    if method == "dpo":
        if mode is not None or alpha is not None:
            raise InvalidArgument(
                "--mode and --alpha are for supervised jobs (DPO pairs carry their margin)", param="mode"
            )
        dpo = {**given, **({"beta": beta} if beta is not None else {})}
        return {"method": {"type": "dpo", "dpo": {"hyperparameters": dpo}}, "preference": {"loss": loss or "sigmoid"}}
    if beta is not None or loss is not None:
        raise InvalidArgument("--beta and --loss are for --method dpo", param="method")
    distrust = {k: v for k, v in {"mode": mode, "alpha": alpha}.items() if v is not None}
    return {"method": {"type": method, method: {"hyperparameters": given}}, "distrust": distrust}


def create_job(client: GatewayClient, body: Mapping[str, object]) -> FineTuningJob:
    """Create a fine-tuning job from a `POST /v1/fine_tuning/jobs` body; the job as the gateway returns it."""
    return client.fetch(FineTuningJob, "POST", "/v1/fine_tuning/jobs", json=body)


def follow(client: GatewayClient, job: FineTuningJob, console: Console) -> FineTuningJob:
    """Stream the job's events until it ends or pauses; return the job as it is then."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[loss]}"),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(job.status, total=job.total_steps or None, loss="")
        path = f"/v1/fine_tuning/jobs/{job.id}"
        for event in client.stream_events(FineTuningJobEvent, "GET", f"{path}/events", params={"stream": "true"}):
            _show(progress, task, event, console)
            if event.status == "paused":
                break  # a paused job's stream waits for a resume: stop following here
    return client.fetch(FineTuningJob, "GET", path)


def _show(progress: Progress, task: TaskID, event: FineTuningJobEvent, console: Console) -> None:
    data = event.data  # open: its keys depend on the event's type
    if event.type == "metrics":
        loss = f"loss {data['train_loss']:.4f}"
        if data.get("val_loss") is not None:
            loss += f"  val {data['val_loss']:.4f}"
        if data.get("reward_accuracy") is not None:
            loss += f"  reward acc {data['reward_accuracy']:.2f}  margin {data['reward_margin']:.3f}"
        loss += f"  {data.get('tokens_per_second', 0):.0f} tok/s"
        progress.update(task, description="training", completed=data["step"], total=data["total_steps"], loss=loss)
    elif event.type == "weights":
        console.print("distrust weights: " + json.dumps(data, default=str)[:300])
    else:
        if event.status:
            progress.update(task, description=event.status)
        style = {"error": "red", "warn": "yellow"}.get(event.level, "dim")
        console.print(f"[{style}]{event.message}[/{style}]")


def pull_archive(client: GatewayClient, path: str, target: Path) -> list[Path]:
    """Download a .tar.gz from the gateway and unpack it into `target` (an mlx-lm-loadable folder)."""
    import tempfile

    from shared.archive import unpack_tar_gz

    with tempfile.TemporaryDirectory() as tmp:
        return unpack_tar_gz(client.download_path(path, Path(tmp) / "archive.tar.gz"), target)
