"""The evaluation and export commands of the `distrust` command line, registered on its Typer app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

from shared.errors import DistrustError, InvalidArgument

SUITES = ("censorship", "authority")


def register(app: typer.Typer, console: Console, err: Console, fail: Callable[[DistrustError], typer.Exit]) -> None:
    @app.command("eval")
    def eval_command(
        models: list[str] = typer.Argument(..., help="Base models and fine-tuned models, compared side by side"),
        validation_file: str | None = typer.Option(
            None,
            "--validation-file",
            "-v",
            help="Perplexity by authority band: a scored JSONL path (uploaded) or file id",
        ),
        preference: bool = typer.Option(False, "--preference", help="Source preference (built-in items)"),
        preference_file: str | None = typer.Option(None, help="Source preference items: a JSONL path or id"),
        suite: list[str] = typer.Option(
            [], "--suite", help="A validation suite: censorship, authority, or a JSONL path / file id (repeatable)"
        ),
        truthfulqa: str | None = typer.Option(
            None, help='TruthfulQA MC format: a JSONL path, a file id, or "sample" for the built-in sample'
        ),
        method: str | None = typer.Option(None, help="Multiple choice read by: letter | option"),
        limit: int | None = typer.Option(None, help="At most this many items per task"),
        max_tokens: int | None = typer.Option(None, help="Reply length for suites"),
        seed: int | None = typer.Option(None, help="Seed of the option shuffling"),
        include_base: bool = typer.Option(True, "--with-base/--no-base", help="Add each adapter's base"),
        charts: Path | None = typer.Option(None, "--charts", file_okay=False, help="Save PNG charts here"),
        output: Path | None = typer.Option(
            None, "--output", "-o", dir_okay=False, help="Save the full report (JSON) here"
        ),
    ) -> None:
        """Evaluate models (perplexity by band and distrust ratio, source preference, suites, TruthfulQA)."""
        from cli.client import GatewayClient
        from cli.commands.evaluate import follow_eval, resolve_eval_file, save_eval_outputs, summary_table

        try:
            client = GatewayClient.from_env()
            tasks: list[dict[str, object]] = []
            if validation_file:
                tasks.append(
                    {
                        "type": "perplexity",
                        "limit": limit,
                        "file": resolve_eval_file(client, validation_file, "fine-tune", err),
                    }
                )
            if preference or preference_file:
                tasks.append(
                    {
                        "type": "source_preference",
                        "method": method,
                        "limit": limit,
                        "file": resolve_eval_file(client, preference_file, "evals", err) if preference_file else None,
                    }
                )
            for item in suite:
                spec = {"suite": item} if item in SUITES else {"file": resolve_eval_file(client, item, "evals", err)}
                tasks.append({"type": "suite", "max_tokens": max_tokens, "limit": limit, **spec})
            if truthfulqa:
                file = None if truthfulqa == "sample" else resolve_eval_file(client, truthfulqa, "evals", err)
                tasks.append({"type": "truthfulqa", "file": file, "method": method, "limit": limit})
            if not tasks:
                tasks = [{"type": "source_preference", "method": method}, {"type": "truthfulqa", "method": method}]
            body = {
                "models": models,
                "tasks": [{k: v for k, v in t.items() if v is not None} for t in tasks],
                "include_base": include_base,
                "seed": seed,
            }
            record = client.request("POST", "/v1/evals", json=body)
            console.print(f"evaluation {record['id']} {record['status']}: {', '.join(record['models'])}")
            record = follow_eval(client, record, err)
            if record["status"] == "succeeded":
                console.print(summary_table(record))
                save_eval_outputs(client, record, charts=charts, output=output, console=console)
        except DistrustError as exc:
            raise fail(exc) from None
        _exit_unless_succeeded(record, console)

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
            record = client.request("POST", "/v1/models/export", json={k: v for k, v in body.items() if v is not None})
            console.print(f"export {record['id']} {record['status']}: {model} → {record['output_model']}")
            record = follow_export(client, record, err)
            if record["status"] == "succeeded":
                console.print(f"[green]succeeded[/green]: model = {record['output_model']}")
                if gguf is not None:
                    client.download_path(f"/v1/models/exports/{record['id']}/gguf", gguf)
                    console.print(f"GGUF written to {gguf}")
                if pull is not None:
                    pull_archive(client, f"/v1/models/{record['output_model']}/archive", pull)
                    console.print(f"model written to {pull}")
        except DistrustError as exc:
            raise fail(exc) from None
        _exit_unless_succeeded(record, console)

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


def _exit_unless_succeeded(record: dict[str, object], console: Console) -> None:
    if record["status"] != "succeeded":
        error = record.get("error") or {}
        console.print(f"[red]{record['status']}[/red]: {error.get('message', '') if isinstance(error, dict) else ''}")
        raise typer.Exit(1)
