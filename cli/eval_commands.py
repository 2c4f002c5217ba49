"""The evaluation and export commands of the `distrust` command line: a Typer app merged into the top level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from cli.output import console, err, fail
from services.gateway.schemas.evaluation import Eval
from services.gateway.schemas.export import ModelExport
from shared.errors import DistrustError, InvalidArgument
from shared.schemas.evaluation import (
    AnyTask,
    ChoiceMethod,
    PerplexityTask,
    RetrievalQualityTask,
    SourcePreferenceTask,
    SuiteTask,
    TruthfulQATask,
    default_task_name,
)
from shared.schemas.vector_stores import RetrievalOptions

SUITES = ("censorship", "authority")
app = typer.Typer()


def _tasks(  # noqa: PLR0913  (one argument per command-line option)
    resolve: Any,
    *,
    validation_file: str | None,
    preference: bool,
    preference_file: str | None,
    suite: list[str],
    truthfulqa: str | None,
    method: ChoiceMethod | None,
    limit: int | None,
    max_tokens: int | None,
) -> list[AnyTask]:
    """The tasks the options ask for; source preference and TruthfulQA (built-in sets) when none is asked for."""
    tasks: list[AnyTask] = []
    if validation_file:
        tasks.append(PerplexityTask(file=resolve(validation_file, "fine-tune"), limit=limit))
    if preference or preference_file:
        file = resolve(preference_file, "evals") if preference_file else None
        tasks.append(SourcePreferenceTask(file=file, method=method, limit=limit))
    for item in suite:
        source = {"suite": item} if item in SUITES else {"file": resolve(item, "evals")}
        tasks.append(SuiteTask(max_tokens=max_tokens, limit=limit, **source))
    if truthfulqa:
        file = None if truthfulqa == "sample" else resolve(truthfulqa, "evals")
        tasks.append(TruthfulQATask(file=file, method=method, limit=limit))
    return tasks or [SourcePreferenceTask(method=method), TruthfulQATask(method=method)]


def with_retrieval(tasks: list[AnyTask], retrieval: RetrievalOptions, queries: str | None) -> list[AnyTask]:
    """The tasks, then each source-preference and suite task again with `retrieval` ("model + RAG").

    A copy is named `<the task's name>_rag`; with `queries` (a labelled query file's id) a retrieval-quality task
    on the same stores comes last.
    """
    counts: dict[str, int] = {}
    copies: list[AnyTask] = []
    for task in tasks:
        counts[task.type] = counts.get(task.type, 0) + 1
        name = task.name or default_task_name(task.type, counts[task.type])
        if isinstance(task, SourcePreferenceTask | SuiteTask):
            copies.append(task.model_copy(update={"name": f"{name}_rag", "retrieval": retrieval}))
    if queries is not None:
        copies.append(RetrievalQualityTask(name="retrieval", file=queries, retrieval=retrieval))
    return [*tasks, *copies]


def _retrieval(stores: list[str], k: int, distrust: float) -> RetrievalOptions:
    """The `--store` options as retrieval options; InvalidArgument naming the option that is out of range."""
    try:
        return RetrievalOptions(vector_store_ids=stores, max_num_results=k, distrust=distrust)
    except ValidationError as exc:
        first = exc.errors()[0]
        option = {"max_num_results": "--rag-k", "distrust": "--rag-distrust"}.get(str(first["loc"][0]), "--store")
        raise InvalidArgument(f"{option}: {first['msg']} (got {first.get('input')!r})", param=option) from None


def _invalid(exc: ValidationError) -> InvalidArgument:
    first = exc.errors()[0]
    option = "--" + "-".join(str(part) for part in first["loc"]).replace("_", "-")
    return InvalidArgument(f"{option}: {first['msg']} (got {first.get('input')!r})", param=option)


@app.command("eval")
def eval_command(  # noqa: PLR0913  (one argument per command-line option)
    models: list[str] = typer.Argument(..., help="Base models and fine-tuned models, compared side by side"),
    validation_file: str | None = typer.Option(
        None, "--validation-file", "-v", help="Perplexity by authority band: a scored JSONL path (uploaded) or file id"
    ),
    preference: bool = typer.Option(False, "--preference", help="Source preference (built-in items)"),
    preference_file: str | None = typer.Option(None, help="Source preference items: a JSONL path or id"),
    suite: list[str] = typer.Option(
        [], "--suite", help="A validation suite: censorship, authority, or a JSONL path / file id (repeatable)"
    ),
    truthfulqa: str | None = typer.Option(
        None, help='TruthfulQA MC format: a JSONL path, a file id, or "sample" for the built-in sample'
    ),
    method: str | None = typer.Option(None, help="Multiple choice read by: letter | option | cyclic"),
    limit: int | None = typer.Option(None, help="At most this many items per task"),
    max_tokens: int | None = typer.Option(None, help="Reply length for suites"),
    seed: int | None = typer.Option(None, help="Seed of the option shuffling"),
    store: list[str] = typer.Option(
        [], "--store", help="A vector store: each preference and suite task also runs with its chunks (repeatable)"
    ),
    rag_k: int = typer.Option(4, help="Chunks per prompt with --store"),
    rag_distrust: float = typer.Option(0.0, help="The provenance blend of the search with --store, 0 to 1"),
    retrieval_queries: str | None = typer.Option(
        None, help="A labelled query file (JSONL path or id): recall@k, MRR and primary@1 of --store's search"
    ),
    include_base: bool = typer.Option(True, "--with-base/--no-base", help="Add each adapter's base"),
    charts: Path | None = typer.Option(None, "--charts", file_okay=False, help="Save PNG charts here"),
    output: Path | None = typer.Option(None, "--output", "-o", dir_okay=False, help="Save the full report (JSON) here"),
) -> None:
    """Evaluate models (perplexity by band and distrust ratio, source preference, suites, TruthfulQA, + RAG)."""
    from cli.client import GatewayClient
    from cli.commands.evaluate import follow_eval, resolve_eval_file, save_eval_outputs, summary_table

    try:
        client = GatewayClient.from_env()
        tasks = _tasks(
            lambda value, purpose: resolve_eval_file(client, value, purpose, err),
            validation_file=validation_file,
            preference=preference,
            preference_file=preference_file,
            suite=suite,
            truthfulqa=truthfulqa,
            method=method,  # type: ignore[arg-type]  # checked by the task models, which name the option
            limit=limit,
            max_tokens=max_tokens,
        )
        if retrieval_queries and not store:
            raise InvalidArgument("--retrieval-queries: needs --store (the stores it searches)", param="store")
        if store:
            queries = resolve_eval_file(client, retrieval_queries, "evals", err) if retrieval_queries else None
            options = _retrieval(store, rag_k, rag_distrust)
            tasks = with_retrieval(tasks, options, queries)
        body = {"models": models, "tasks": [t.model_dump() for t in tasks], "include_base": include_base, "seed": seed}
        record = client.fetch(Eval, "POST", "/v1/evals", json=body)
        console.print(f"evaluation {record.id} {record.status}: {', '.join(record.models)}")
        record = follow_eval(client, record, err)
        if record.status == "succeeded":
            console.print(summary_table(record))
            save_eval_outputs(client, record, charts=charts, output=output, console=console)
    except ValidationError as exc:
        raise fail(_invalid(exc)) from None
    except DistrustError as exc:
        raise fail(exc) from None
    _exit_unless_succeeded(record)


@app.command("export")
def export_command(
    model: str = typer.Argument(..., help="The fine-tuned model (adapter) to fuse into its base"),
    name: str | None = typer.Option(None, help="Name of the exported model"),
    quantize: int | None = typer.Option(None, help="Quantize to 4 or 8 bits"),
    group_size: int | None = typer.Option(None, help="Quantization group size: 32, 64 or 128"),
    gguf: Path | None = typer.Option(
        None, "--gguf", dir_okay=False, help="Also write a GGUF file and download it here"
    ),
    dtype: str | None = typer.Option(None, help="float16 | bfloat16 | float32"),
    pull: Path | None = typer.Option(
        None, "--pull", file_okay=False, help="Download the exported model (HF layout) here"
    ),
) -> None:
    """Fuse an adapter into its base (optionally quantized, optionally GGUF) and register it as a model."""
    from cli.client import GatewayClient
    from cli.commands.evaluate import follow_export
    from cli.commands.train import pull_archive

    if group_size is not None and quantize is None:
        raise fail(InvalidArgument("--group-size: only with --quantize", param="group_size"))
    body: dict[str, object] = {"model": model, "name": name, "gguf": gguf is not None, "dtype": dtype}
    if quantize is not None:
        body["quantize"] = {k: v for k, v in {"bits": quantize, "group_size": group_size}.items() if v}
    try:
        client = GatewayClient.from_env()
        body = {k: v for k, v in body.items() if v is not None}
        record = client.fetch(ModelExport, "POST", "/v1/models/export", json=body)
        console.print(f"export {record.id} {record.status}: {model} → {record.output_model}")
        record = follow_export(client, record, err)
        if record.status == "succeeded":
            console.print(f"[green]succeeded[/green]: model = {record.output_model}")
            if gguf is not None:
                client.download_path(f"/v1/models/exports/{record.id}/gguf", gguf)
                console.print(f"GGUF written to {gguf}")
            if pull is not None:
                pull_archive(client, f"/v1/models/{record.output_model}/archive", pull)
                console.print(f"model written to {pull}")
    except DistrustError as exc:
        raise fail(exc) from None
    _exit_unless_succeeded(record)


@app.command("charts")
def charts_command(
    job: str = typer.Argument(..., help="Fine-tuning job id"),
    directory: Path = typer.Option(Path("."), "--out", "-o", file_okay=False),
) -> None:
    """Save a fine-tuning job's loss curves as a PNG."""
    from cli.client import GatewayClient
    from cli.commands.evaluate import save_loss_chart

    try:
        path = save_loss_chart(GatewayClient.from_env(), job, directory)
    except DistrustError as exc:
        raise fail(exc) from None
    console.print(f"chart written to {path}")


def _exit_unless_succeeded(record: Eval | ModelExport) -> None:
    if record.status != "succeeded":
        console.print(f"[red]{record.status}[/red]: {record.error.message if record.error else ''}")
        raise typer.Exit(1)
