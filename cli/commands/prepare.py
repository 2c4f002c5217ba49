"""`distrust prepare`: raw JSONL files in, train.jsonl / val.jsonl / report.json out, with progress."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from cli.client import GatewayClient
from cli.commands.progress import count_progress
from shared.errors import FailedPrecondition, InternalError
from shared.schemas.preparation import PreparationOptions

OUTPUTS = {"train_file": "train.jsonl", "validation_file": "val.jsonl", "report_file": "report.json"}


def prepare_local(
    paths: Sequence[Path],
    output_dir: Path,
    *,
    source_type: str | None,
    options: Mapping[str, object],
    console: Console,
) -> dict[str, Any]:
    """Prepare the files in this process and write the three outputs to `output_dir`; the report."""
    from services.scorer.preparation import RawInput, prepare_dataset

    opts = PreparationOptions.from_mapping(options)
    handles = [path.open("rb") for path in paths]
    try:
        inputs = [
            RawInput(name=path.name, lines=fh, source_type=source_type) for path, fh in zip(paths, handles, strict=True)
        ]
        with count_progress(console) as progress:
            task = progress.add_task("preparing", total=None, note="")

            def on_event(event: Any) -> None:
                progress.update(
                    task, description=event.stage, completed=event.done, total=event.total, note=event.message
                )

            prepared = prepare_dataset(inputs, opts, progress=on_event)
    finally:
        for fh in handles:
            fh.close()
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.jsonl", prepared.train), ("val.jsonl", prepared.val)):
        with (output_dir / name).open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    (output_dir / "report.json").write_text(json.dumps(prepared.report, indent=2, allow_nan=False))
    return prepared.report


def prepare_remote(
    paths: Sequence[Path],
    output_dir: Path,
    *,
    source_type: str | None,
    options: Mapping[str, object],
    profile: str | None,
    console: Console,
    poll_s: float = 0.5,
) -> dict[str, Any]:
    """Upload the files, run a preparation job through the gateway, download its outputs; the report.

    The options are checked here first, so a bad one fails before anything is uploaded.
    """
    opts = PreparationOptions.from_mapping({**options, **({"profile": profile} if profile else {})})
    client = GatewayClient.from_env()
    with count_progress(console) as progress:
        task = progress.add_task("uploading", total=len(paths), note="")
        file_ids = []
        for path in paths:
            file_ids.append(client.upload(path, "raw"))
            progress.update(task, advance=1, note=path.name)
        body = {
            "inputs": [{"file_id": f, "source_type": source_type} for f in file_ids],
            "options": opts.model_dump(mode="json"),
        }
        job = client.request("POST", "/v1/datasets/prepare", json=body)
        job = follow_dataset_job(client, job, progress, task, poll_s)
    return download_outputs(client, job, output_dir, console)


def follow_dataset_job(
    client: GatewayClient, job: dict[str, Any], progress: Any, task: Any, poll_s: float
) -> dict[str, Any]:
    """Poll a dataset job (preparation or pairs) until it ends, its stage on the progress bar; the job."""
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        time.sleep(poll_s)
        job = client.request("GET", f"/v1/datasets/jobs/{job['id']}")
        step = job["progress"]
        progress.update(
            task, description=step["stage"], completed=step["done"], total=step["total"], note=step["message"]
        )
    return job


def download_outputs(client: GatewayClient, job: dict[str, Any], output_dir: Path, console: Console) -> dict[str, Any]:
    """A finished dataset job's train / validation / report files into `output_dir`; its report."""
    if job["status"] != "succeeded":
        error = job.get("error") or {}
        raise FailedPrecondition(
            f"dataset job {job['id']} {job['status']}: {error.get('message')}",
            param=error.get("param"),
            code=error.get("code"),
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    for field, name in OUTPUTS.items():
        if not job.get(field):
            raise InternalError(f"dataset job {job['id']} has no {field}")
        client.download(job[field], output_dir / name)
    console.print(f"job {job['id']}: train file {job['train_file']}, validation file {job['validation_file']}")
    report: dict[str, Any] = job["report"]
    return report
