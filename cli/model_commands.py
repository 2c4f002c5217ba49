"""The model verbs: `models pull|add|import`, `adapters pull`, `recommend`, `chat` (merged into the top level)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from cli.output import console, fail
from services.trainer.models.names import DEFAULT_MODEL_NAME
from shared.errors import DistrustError

app = typer.Typer()
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
        raise fail(exc) from None


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
        raise fail(exc) from None
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
        raise fail(exc) from None
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
        raise fail(exc) from None
    recommending.print_recommendation(console, result, model)


@app.command()
def chat(
    model: str = typer.Argument(DEFAULT_MODEL_NAME, help="A base model or a fine-tuned model name"),
    system: str | None = typer.Option(None, help="System message"),
    max_tokens: int | None = typer.Option(None),
    temperature: float | None = typer.Option(None),
    seed: int | None = typer.Option(None),
    store: list[str] = typer.Option([], "--store", help="Answer from this vector store (vs_…); repeat for more"),
    distrust: float = typer.Option(0.0, help="With --store: weight of the provenance prior in [0, 1]"),
) -> None:
    """Chat with a model; each reply streams as it is generated. One message per line; /exit or EOF ends.

    With --store, each question is searched in the stores first and the sources used are listed after the reply.
    """
    from cli.client import GatewayClient
    from cli.commands.chat import chat_loop

    options: dict[str, object] = {
        k: v for k, v in {"max_tokens": max_tokens, "temperature": temperature, "seed": seed}.items() if v is not None
    }
    if store:
        options["retrieval"] = {"vector_store_ids": store, "distrust": distrust}
    try:
        chat_loop(GatewayClient.from_env(), model, system=system, options=options)
    except DistrustError as exc:
        raise fail(exc) from None
