"""The fine-tuning job verbs: `jobs list|pause|resume|cancel` (creating one is `distrust train`)."""

from __future__ import annotations

from datetime import UTC, datetime

import typer
from rich.table import Table

from cli.output import console, err, fail
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.fine_tuning import FineTuningJob
from shared.errors import DistrustError

app = typer.Typer()
jobs_app = typer.Typer(help="Fine-tuning jobs: list, pause, resume, cancel.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")

JOB_ID = typer.Argument(..., help="The job's id (ftjob-…)")


@jobs_app.command("list")
def jobs_list(limit: int = typer.Option(20, help="How many, newest first (1-100)")) -> None:
    """Your fine-tuning jobs with their status and progress."""
    from cli.client import GatewayClient

    try:
        listed = GatewayClient.from_env().fetch(
            ListResponse[FineTuningJob], "GET", "/v1/fine_tuning/jobs", params={"limit": limit}
        )
    except DistrustError as exc:
        raise fail(exc) from None
    table = Table()
    for column in ("id", "model", "status", "steps", "created", "fine_tuned_model"):
        table.add_column(column, no_wrap=column == "id")
    for job in listed.data:
        created = datetime.fromtimestamp(job.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        steps = f"{job.step}/{job.total_steps}" if job.total_steps else "-"
        table.add_row(job.id, job.model, job.status, steps, created, job.fine_tuned_model or "-")
    console.print(table)


def _control(verb: str, job_id: str) -> FineTuningJob:
    from cli.client import GatewayClient

    try:
        return GatewayClient.from_env().fetch(FineTuningJob, "POST", f"/v1/fine_tuning/jobs/{job_id}/{verb}")
    except DistrustError as exc:
        raise fail(exc) from None


@jobs_app.command("pause")
def jobs_pause(job_id: str = JOB_ID) -> None:
    """Pause a queued or running job: it stops after its current step with a checkpoint."""
    job = _control("pause", job_id)
    console.print(f"{job.id} {job.status}" + ("" if job.status == "paused" else " (pausing after this step)"))


@jobs_app.command("resume")
def jobs_resume(
    job_id: str = JOB_ID,
    follow_job: bool = typer.Option(False, "--follow/--no-follow", help="Follow the job until it ends or pauses."),
) -> None:
    """Queue a paused job again; it continues from its last checkpoint."""
    from cli.client import GatewayClient
    from cli.commands.train import follow

    job = _control("resume", job_id)
    console.print(f"{job.id} {job.status}")
    if follow_job:
        try:
            job = follow(GatewayClient.from_env(), job, err)
        except DistrustError as exc:
            raise fail(exc) from None
        console.print(f"{job.id} {job.status}" + (f": {job.fine_tuned_model}" if job.fine_tuned_model else ""))


@jobs_app.command("cancel")
def jobs_cancel(job_id: str = JOB_ID) -> None:
    """Cancel a job; it keeps its last checkpoint."""
    job = _control("cancel", job_id)
    console.print(f"{job.id} {job.status}")
