"""The data and training verbs: `score`, `prepare`, `train` (a Typer app merged into the top level)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cli.output import console, err, fail
from services.trainer.models.names import DEFAULT_MODEL_NAME
from shared.errors import DistrustError

app = typer.Typer()


@app.command()
def score(
    input: Path = typer.Option(
        ..., "--input", "-i", exists=True, dir_okay=False, help='JSONL: one {"text": ..., <metadata fields>} per line'
    ),
    output: Path = typer.Option(..., "--output", "-o", dir_okay=False, help="JSONL: one result per line"),
    profile: str = typer.Option("strict", help="strict | reference"),
    local: bool = typer.Option(False, "--local", help="Score in-process; no server needed."),
    text_field: str = typer.Option("text", help="Field holding the text."),
) -> None:
    """Score documents for authority weight and provenance entropy, one JSON result per input line, in order."""
    from cli.commands.score import score_file, write_summary

    try:
        lines, errors = score_file(input, output, profile=profile, local=local, text_field=text_field, console=err)
    except DistrustError as exc:
        raise fail(exc) from None
    write_summary(sys.stdout, lines, errors, output)
    if errors:
        raise typer.Exit(1)


@app.command()
def prepare(  # noqa: PLR0913  # a command's flags are its parameters
    files: list[Path] = typer.Argument(..., exists=True, dir_okay=False, help="Raw JSONL files"),
    output_dir: Path = typer.Option(Path("prepared"), "--output-dir", "-o", file_okay=False),
    source_type: str | None = typer.Option(None, help="Source type of every record (default: from the file name)"),
    profile: str = typer.Option("strict", help="strict | reference"),
    seed: int = typer.Option(42),
    val_fraction: float = typer.Option(0.2),
    min_length: int | None = typer.Option(None, help="Minimum text length (default 100)"),
    strict: bool = typer.Option(False, "--strict", help="Reject everything on any malformed line."),
    rebalance: bool = typer.Option(True, help="Rebalance to 25/40/35 % low/mid/high authority."),
    local: bool = typer.Option(False, "--local", help="Prepare in-process; no server needed."),
) -> None:
    """Prepare train.jsonl, val.jsonl and report.json from raw JSONL files (scored, deduplicated, balanced)."""
    from cli.commands.prepare import prepare_local, prepare_remote

    options: dict[str, object] = {
        "seed": seed,
        "val_fraction": val_fraction,
        "strict": strict,
        "rebalance": rebalance,
        "profile": profile,
    }
    if min_length is not None:
        options["min_length"] = min_length
    try:
        if local:
            report = prepare_local(files, output_dir, source_type=source_type, options=options, console=err)
        else:
            options.pop("profile")
            report = prepare_remote(
                files, output_dir, source_type=source_type, options=options, profile=profile, console=err
            )
    except DistrustError as exc:
        raise fail(exc) from None
    split = report.get("split", {})
    console.print(
        f"train {split.get('train')} / val {split.get('val')} examples, "
        f"{report.get('rejected', {}).get('total', 0)} lines rejected -> {output_dir}/"
    )


@app.command()
def pairs(  # noqa: PLR0913  # a command's flags are its parameters
    source: str = typer.Argument(
        ..., help="JSONL of prompts with candidates, an annotations CSV / JSONL (--rule manual), or a batch id"
    ),
    rule: str = typer.Option("provenance", help="provenance | rules | manual"),
    output_dir: Path = typer.Option(Path("pairs"), "--output-dir", "-o", file_okay=False),
    min_margin: float = typer.Option(0.0, help="Drop prompts whose best and worst answers are closer than this"),
    rules: Path | None = typer.Option(
        None, exists=True, dir_okay=False, help="JSON rules for --rule rules: required_keywords, refusal_phrases, ..."
    ),
    profile: str = typer.Option("strict", help="Scoring profile for --rule provenance: strict | reference"),
    seed: int = typer.Option(42),
    val_fraction: float = typer.Option(0.1),
    local: bool = typer.Option(False, "--local", help="Build in-process; no server needed (not for a batch id)."),
) -> None:
    """Build DPO preference pairs (train.jsonl, val.jsonl, report.json) from several answers per prompt."""
    import json

    from cli.commands.pairs import pairs_local, pairs_remote
    from shared.schemas.preference_pairs import PairOptions

    try:
        options = PairOptions.model_validate(
            {"rule": rule, "min_margin": min_margin, "rules": json.loads(rules.read_text()) if rules else None}
        )
        path = Path(source)
        if local:
            report = pairs_local(path, output_dir, options, profile=profile, seed=seed, val_fraction=val_fraction)
        else:
            report = pairs_remote(
                path if path.is_file() else source,
                output_dir,
                options,
                profile=profile,
                seed=seed,
                val_fraction=val_fraction,
                console=err,
            )
    except DistrustError as exc:
        raise fail(exc) from None
    console.print(
        f"{report['pairs']} pairs from {report['prompts']} prompts ({report['ties']} ties, "
        f"{report['below_margin']} under the margin): train {report['train']} / val {report['validation']} "
        f"-> {output_dir}/"
    )


@app.command()
def train(  # noqa: PLR0913  # a command's flags are its parameters
    training_file: str = typer.Option(..., "--training-file", "-t", help="A local JSONL path (uploaded) or a file id"),
    validation_file: str | None = typer.Option(None, "--validation-file", "-v"),
    model: str = typer.Option(DEFAULT_MODEL_NAME, help="Base model name"),
    suffix: str | None = typer.Option(None),
    seed: int | None = typer.Option(None),
    epochs: int | None = typer.Option(None, help="n_epochs (default auto)"),
    batch_size: int | None = typer.Option(None),
    learning_rate_multiplier: float | None = typer.Option(None),
    max_steps: int | None = typer.Option(None),
    checkpoint_every: int | None = typer.Option(None),
    mode: str | None = typer.Option(None, help="weighted (default) | additive | none"),
    alpha: float | None = typer.Option(None, help="distrust alpha in [2.3, 3.0]"),
    rank: int | None = typer.Option(None, help="LoRA rank"),
    lora_alpha: float | None = typer.Option(None, help="LoRA alpha"),
    layers: int | None = typer.Option(None, help="LoRA layers (from the top)"),
    method: str = typer.Option("supervised", help="supervised | dpo (preference pairs, see `distrust pairs`)"),
    beta: float | None = typer.Option(None, help="DPO beta (default auto = 0.1)"),
    loss: str | None = typer.Option(None, help="DPO loss: sigmoid | ipo | simpo"),
    follow_job: bool = typer.Option(True, "--follow/--no-follow", help="Follow the job until it ends."),
) -> None:
    """Fine-tune a model with the distrust signal; follows the job with a progress bar and the live loss."""
    from cli.client import GatewayClient
    from cli.commands.train import create_job, follow, method_fields, resolve_file

    hyperparameters = {
        "n_epochs": epochs,
        "batch_size": batch_size,
        "learning_rate_multiplier": learning_rate_multiplier,
        "max_steps": max_steps,
        "checkpoint_every_steps": checkpoint_every,
    }
    try:
        client = GatewayClient.from_env()
        body = {
            "model": model,
            "training_file": resolve_file(client, training_file, err),
            "validation_file": resolve_file(client, validation_file, err) if validation_file else None,
            "suffix": suffix,
            "seed": seed,
            "lora": {k: v for k, v in {"rank": rank, "alpha": lora_alpha, "layers": layers}.items() if v is not None},
            **method_fields(method, hyperparameters, mode=mode, alpha=alpha, beta=beta, loss=loss),
        }
        job = create_job(client, body)
        console.print(f"job {job.id} {job.status}")
        if follow_job:
            job = follow(client, job, err)
    except DistrustError as exc:
        raise fail(exc) from None
    if job.status == "succeeded":
        console.print(f"[green]succeeded[/green]: fine_tuned_model = {job.fine_tuned_model}")
    elif job.status == "paused":
        console.print(f"[yellow]paused[/yellow]: continue it with `distrust jobs resume {job.id} --follow`")
    elif job.status in ("failed", "cancelled"):
        console.print(f"[red]{job.status}[/red]: {job.error.message if job.error else ''}")
        raise typer.Exit(1)
