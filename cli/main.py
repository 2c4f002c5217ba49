"""The `distrust` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli import eval_commands
from cli.stack import control
from services.trainer.models.names import DEFAULT_MODEL_NAME
from shared.errors import DistrustError

app = typer.Typer(
    help="distrust: Empirical Distrust training and serving on MLX.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


def _fail(exc: DistrustError) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(exc.message)}")
    return typer.Exit(2 if exc.type == "configuration_error" else 1)


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
        raise _fail(exc) from None
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
        raise _fail(exc) from None
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
        raise _fail(exc) from None
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
        raise _fail(exc) from None
    split = report.get("split", {})
    console.print(
        f"train {split.get('train')} / val {split.get('val')} examples, "
        f"{report.get('rejected', {}).get('total', 0)} lines rejected -> {output_dir}/"
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
    mode: str = typer.Option("weighted", help="weighted | additive | none"),
    alpha: float | None = typer.Option(None, help="distrust alpha in [2.3, 3.0]"),
    rank: int | None = typer.Option(None, help="LoRA rank"),
    lora_alpha: float | None = typer.Option(None, help="LoRA alpha"),
    layers: int | None = typer.Option(None, help="LoRA layers (from the top)"),
    follow_job: bool = typer.Option(True, "--follow/--no-follow", help="Follow the job until it ends."),
) -> None:
    """Fine-tune a model with the distrust signal; follows the job with a progress bar and the live loss."""
    from cli.client import GatewayClient
    from cli.commands.train import create_job, follow, resolve_file

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
            "hyperparameters": {k: v for k, v in hyperparameters.items() if v is not None},
            "distrust": {k: v for k, v in {"mode": mode, "alpha": alpha}.items() if v is not None},
            "lora": {k: v for k, v in {"rank": rank, "alpha": lora_alpha, "layers": layers}.items() if v is not None},
        }
        job = create_job(client, body)
        console.print(f"job {job.id} {job.status}")
        if follow_job:
            job = follow(client, job, err)
    except DistrustError as exc:
        raise _fail(exc) from None
    if job.status == "succeeded":
        console.print(f"[green]succeeded[/green]: fine_tuned_model = {job.fine_tuned_model}")
    elif job.status in ("failed", "cancelled"):
        console.print(f"[red]{job.status}[/red]: {job.error.message if job.error else ''}")
        raise typer.Exit(1)


adapters_app = typer.Typer(help="Trained adapters.", no_args_is_help=True)
models_app = typer.Typer(help="Base models.", no_args_is_help=True)
app.add_typer(adapters_app, name="adapters")
app.add_typer(models_app, name="models")


@adapters_app.command("pull")
def adapters_pull(
    job: str = typer.Argument(..., help="Fine-tuning job id"), directory: Path = typer.Argument(..., file_okay=False)
) -> None:
    """Write a job's adapter (adapters.safetensors + adapter_config.json) to DIRECTORY for mlx-lm."""
    count = _pull(f"/v1/fine_tuning/jobs/{job}/adapter", directory)
    console.print(f"{count} files -> {directory}/  (mlx_lm.generate --adapter-path {directory})")


@models_app.command("pull")
def models_pull(
    name: str = typer.Argument(..., help="Base model name (or a fine-tuned model name)"),
    directory: Path = typer.Argument(..., file_okay=False),
) -> None:
    """Write a stored base model (Hugging Face layout) to DIRECTORY; `mlx_lm.load(DIRECTORY)` opens it."""
    console.print(f"{_pull(f'/v1/models/{name}/archive', directory)} files -> {directory}/")


def _pull(path: str, directory: Path) -> int:
    from cli.client import GatewayClient
    from cli.commands.train import pull_archive

    try:
        return len(pull_archive(GatewayClient.from_env(), path, directory))
    except DistrustError as exc:
        raise _fail(exc) from None


@models_app.command("add")
def models_add(
    name: str = typer.Argument(..., help="Name to train and serve it under"),
    directory: Path = typer.Argument(
        ..., exists=True, file_okay=False, help="A Hugging Face-layout folder mlx_lm.load opens"
    ),
) -> None:
    """Register a local model folder (e.g. one downloaded with `huggingface-cli download`) as a base model."""
    from cli.commands.models import add_model

    try:
        record = add_model(name, directory)
    except DistrustError as exc:
        raise _fail(exc) from None
    console.print(f"registered {record.name}: {record.bytes / 1e6:.1f} MB, {len(record.files)} files")


@models_app.command("import")
def models_import(
    source: str = typer.Argument(
        ..., help="A GGUF file, a Hugging Face or MLX folder, ollama:NAME[:TAG] or lmstudio:PUBLISHER/REPO[/FILE]"
    ),
    name: str | None = typer.Option(None, help="Name to chat with and train it under; default from SOURCE"),
    quantization: str = typer.Option("keep", help="keep (the file's), or float32 / bfloat16 / float16"),
    public: bool = typer.Option(False, "--public", help="For every user of the stack (needs an admin key)"),
) -> None:
    """Import a model you have (GGUF, Hugging Face / MLX folder, Ollama, LM Studio) as a base model."""
    from cli.client import GatewayClient
    from cli.commands.model_import import check_quantization, import_model

    try:
        record = import_model(
            GatewayClient.from_env(),
            source,
            name=name,
            quantization=check_quantization(quantization),
            public=public,
            console=console,
        )
    except DistrustError as exc:
        raise _fail(exc) from None
    if record["status"] != "succeeded":
        console.print(f"[red]{record['status']}[/red]: {escape((record.get('error') or {}).get('message', ''))}")
        raise typer.Exit(1)
    provenance = record["provenance"]
    console.print(
        f"[green]imported[/green] {record['name']} ({provenance['architecture']}, "
        f"{provenance['parameter_count'] / 1e6:.1f} M parameters, {provenance['quantization']} from "
        f"{provenance['source']})"
    )
    console.print(f"chat with it: distrust chat {record['name']}")


@app.command()
def recommend(
    model: str = typer.Option(DEFAULT_MODEL_NAME, help="A registered model's name, or a model folder (with --local)"),
    seq_len: int = typer.Option(512, help="Sequence length you will train with"),
    precision: str = typer.Option("auto", help="auto (the machine's dtype), float32, bfloat16 or float16"),
    quantize_base: int | None = typer.Option(None, help="QLoRA: train on the base quantized to 4 or 8 bits"),
    worker: str | None = typer.Option(None, help="A trainer worker's id; default: the one with the smallest budget"),
    local: bool = typer.Option(False, "--local", help="This machine, reading the registry directly"),
) -> None:
    """Recommend batch size, LoRA rank and layers for training MODEL within a trainer worker's memory.

    Asks the gateway about the workers' machines; --local (or a model folder) recommends for this machine.
    """
    from cli.commands import recommend as recommending
    from services.trainer.system.recommend import memory_options
    from shared.errors import invalid_field

    try:
        options = memory_options(precision, quantize_base)
        if local or Path(model).is_dir():
            if worker:
                raise invalid_field("--worker", worker, "no --worker for this machine (--local or a model folder)")
            if not local:
                console.print("a model folder: recommending for this machine (as with --local)")
            result, hardware = recommending.local(model, seq_len=seq_len, options=options)
            console.print(f"this machine: {escape(hardware.describe())}", soft_wrap=True)
        else:
            from cli.client import GatewayClient

            answer = recommending.remote(
                GatewayClient.from_env(),
                model,
                seq_len=seq_len,
                options=options,
                worker=worker,
            )
            recommending.print_worker(console, answer.worker)
            result = answer.recommendation
    except DistrustError as exc:
        raise _fail(exc) from None
    recommending.print_recommendation(console, result, model)


@app.command()
def chat(
    model: str = typer.Argument(DEFAULT_MODEL_NAME, help="A base model or a fine-tuned model name"),
    system: str | None = typer.Option(None, help="System message"),
    max_tokens: int | None = typer.Option(None),
    temperature: float | None = typer.Option(None),
    seed: int | None = typer.Option(None),
) -> None:
    """Chat with a model; each reply streams as it is generated. One message per line; /exit or EOF ends."""
    from cli.client import GatewayClient
    from cli.commands.chat import chat_loop

    options = {
        k: v for k, v in {"max_tokens": max_tokens, "temperature": temperature, "seed": seed}.items() if v is not None
    }
    try:
        chat_loop(GatewayClient.from_env(), model, system=system, options=options)
    except DistrustError as exc:
        raise _fail(exc) from None


app.add_typer(eval_commands.app)


def main() -> None:
    """Run the command line."""
    app()


if __name__ == "__main__":
    main()
