"""The vector-store verbs: `stores create|add|search|list|delete`, ingestion followed with a progress bar."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from cli.commands.progress import count_progress
from cli.output import console, fail
from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.vector_stores import Deleted, FileBatch, SearchResultsPage, VectorStore
from shared.errors import DistrustError, InvalidArgument

if TYPE_CHECKING:
    from cli.client import GatewayClient

app = typer.Typer()
stores_app = typer.Typer(help="Vector stores: ingest text files, search them with provenance.", no_args_is_help=True)
app.add_typer(stores_app, name="stores")

PATHS = typer.Argument(..., exists=True, dir_okay=False, help="Text files to upload and ingest")
CHUNK = typer.Option(None, "--chunk-size", help="Tokens per chunk (default: OpenAI's auto, 800)")
OVERLAP = typer.Option(None, "--overlap", help="Tokens shared by consecutive chunks (at most half a chunk)")
ATTRIBUTE = typer.Option([], "--attribute", "-a", help="KEY=VALUE on every file (numbers and true/false typed)")


def _value(raw: str) -> str | float | bool:
    if raw in ("true", "false"):
        return raw == "true"
    try:
        return float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        return raw


def _pairs(items: list[str], option: str) -> dict[str, str | float | bool]:
    pairs = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"{option}: got {item!r}, expected KEY=VALUE", param=option)
        pairs[key] = _value(raw)
    return pairs


def _chunking(size: int | None, overlap: int | None) -> dict[str, Any] | None:
    if size is None and overlap is None:
        return None
    chosen = size or 800
    return {"type": "static", "static": {"max_chunk_size_tokens": chosen, "chunk_overlap_tokens": overlap or 0}}


def _follow(client: GatewayClient, store_id: str, batch_id: str, total: int) -> FileBatch:
    """Poll the batch until every file is finished, with a bar of files done."""
    with count_progress(console) as progress:
        task = progress.add_task("ingesting", total=total, note="")
        while True:
            batch = client.fetch(FileBatch, "GET", f"/v1/vector_stores/{store_id}/file_batches/{batch_id}")
            counts = batch.file_counts
            progress.update(task, completed=counts.total - counts.in_progress, note=f"{counts.failed} failed")
            if batch.status != "in_progress":
                return batch
            time.sleep(0.5)


def _ingest(client: GatewayClient, store_id: str, paths: list[Path], body: dict[str, Any], wait: bool) -> None:
    ids = [client.upload(path, "assistants") for path in paths]
    batch = client.fetch(
        FileBatch, "POST", f"/v1/vector_stores/{store_id}/file_batches", json={**body, "file_ids": ids}
    )
    if wait:
        batch = _follow(client, store_id, batch.id, len(ids))
    counts = batch.file_counts
    console.print(f"{store_id}: {counts.completed} files indexed, {counts.failed} failed ({batch.status})")
    if counts.failed:
        listed = client.request("GET", f"/v1/vector_stores/{store_id}/file_batches/{batch.id}/files?filter=failed")
        for item in listed["data"]:
            console.print(f"  {item['id']}: {item['last_error']['message']}")


@stores_app.command("create")
def stores_create(
    name: str = typer.Argument(..., help="The store's name"),
    paths: list[Path] = typer.Argument(None, exists=True, dir_okay=False, help="Text files to ingest"),
    chunk_size: int | None = CHUNK,
    overlap: int | None = OVERLAP,
    attribute: list[str] = ATTRIBUTE,
    embedding_model: str | None = typer.Option(None, help="Default: the gateway's (wordllama-l2-supercat-256)"),
    wait: bool = typer.Option(True, help="Follow the ingestion to its end"),
) -> None:
    """Create a store and ingest files into it; prints the store's id."""
    from cli.client import GatewayClient

    try:
        client = GatewayClient.from_env()
        body = {"name": name, **({"embedding_model": embedding_model} if embedding_model else {})}
        store = client.fetch(VectorStore, "POST", "/v1/vector_stores", json=body)
        console.print(f"created {store.id} ({store.embedding_model})")
        if paths:
            _ingest(client, store.id, paths, _batch_body(chunk_size, overlap, attribute), wait)
    except DistrustError as exc:
        raise fail(exc) from None


@stores_app.command("add")
def stores_add(
    store_id: str = typer.Argument(..., help="The store (vs_…)"),
    paths: list[Path] = PATHS,
    chunk_size: int | None = CHUNK,
    overlap: int | None = OVERLAP,
    attribute: list[str] = ATTRIBUTE,
    wait: bool = typer.Option(True, help="Follow the ingestion to its end"),
) -> None:
    """Upload files and ingest them into a store, as one file batch."""
    from cli.client import GatewayClient

    try:
        _ingest(GatewayClient.from_env(), store_id, paths, _batch_body(chunk_size, overlap, attribute), wait)
    except DistrustError as exc:
        raise fail(exc) from None


def _batch_body(size: int | None, overlap: int | None, attribute: list[str]) -> dict[str, Any]:
    chunking, attributes = _chunking(size, overlap), _pairs(attribute, "--attribute")
    return {
        **({"chunking_strategy": chunking} if chunking else {}),
        **({"attributes": attributes} if attributes else {}),
    }


@stores_app.command("search")
def stores_search(
    store_id: str = typer.Argument(..., help="The store (vs_…)"),
    query: str = typer.Argument(..., help="What to look for"),
    results: int = typer.Option(5, "--results", "-k", help="How many chunks (1-50)"),
    distrust: float = typer.Option(0.0, help="Weight of the provenance prior in [0, 1] (0: relevance only)"),
    mode: str = typer.Option("hybrid", help="hybrid, vector or text"),
    where: list[str] = typer.Option([], "--where", "-w", help="KEY=VALUE: only files with this attribute"),
) -> None:
    """The chunks that best answer the query, with their relevance and provenance scores."""
    from cli.client import GatewayClient

    try:
        conditions = [{"type": "eq", "key": k, "value": v} for k, v in _pairs(where, "--where").items()]
        body: dict[str, Any] = {
            "query": query,
            "max_num_results": results,
            "ranking_options": {"distrust": distrust, "mode": mode},
        }
        if conditions:
            body["filters"] = conditions[0] if len(conditions) == 1 else {"type": "and", "filters": conditions}
        page = GatewayClient.from_env().fetch(
            SearchResultsPage, "POST", f"/v1/vector_stores/{store_id}/search", json=body
        )
    except DistrustError as exc:
        raise fail(exc) from None
    table = Table()
    for column in ("score", "relevance", "auth", "entropy", "file", "text"):
        table.add_column(column, no_wrap=column != "text")
    for item in page.data:
        text = " ".join(item.content[0].text.split())
        table.add_row(
            f"{item.score:.3f}",
            f"{item.ranking.relevance:.3f}",
            f"{item.ranking.auth_weight:.2f}",
            f"{item.ranking.prov_entropy:.2f}",
            f"{item.filename}#{item.chunk_index}",
            text[:160] + ("…" if len(text) > 160 else ""),
        )
    console.print(table)


@stores_app.command("list")
def stores_list() -> None:
    """Your stores, newest first."""
    from cli.client import GatewayClient

    try:
        listed = GatewayClient.from_env().fetch(ListResponse[VectorStore], "GET", "/v1/vector_stores?limit=100")
    except DistrustError as exc:
        raise fail(exc) from None
    table = Table()
    for column in ("id", "name", "files", "in progress", "failed", "bytes", "embedding model"):
        table.add_column(column, no_wrap=True)
    for store in listed.data:
        counts = store.file_counts
        table.add_row(
            store.id,
            store.name or "",
            str(counts.completed),
            str(counts.in_progress),
            str(counts.failed),
            str(store.usage_bytes),
            store.embedding_model,
        )
    console.print(table)


@stores_app.command("delete")
def stores_delete(store_id: str = typer.Argument(..., help="The store (vs_…)")) -> None:
    """Delete a store and its chunks (the uploaded files stay)."""
    from cli.client import GatewayClient

    try:
        GatewayClient.from_env().fetch(Deleted, "DELETE", f"/v1/vector_stores/{store_id}")
    except DistrustError as exc:
        raise fail(exc) from None
    console.print(f"deleted {store_id}")
