"""`distrust models import SOURCE`: find the model, upload it (a folder as a tar), import it, follow the job."""

from __future__ import annotations

import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, TaskID

from cli.client import GatewayClient
from cli.commands.progress import bytes_progress, count_progress
from services.gateway.schemas.fine_tuning import FineTuningJobEvent
from shared.errors import InvalidArgument, invalid_field

TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class LocalSource:
    """A model on this machine: a GGUF file or a model folder, and the name it goes by."""

    path: Path
    display_name: str


def resolve_source(source: str) -> LocalSource:
    """SOURCE as a local path: `ollama:NAME[:TAG]`, `lmstudio:PUBLISHER/REPO[/FILE]`, or a GGUF file / folder."""
    from services.trainer.imports.stores import resolve_lmstudio, resolve_ollama

    if source.startswith("ollama:"):
        found = resolve_ollama(source.removeprefix("ollama:"))
        return LocalSource(found.path, found.display_name)
    if source.startswith("lmstudio:"):
        found = resolve_lmstudio(source.removeprefix("lmstudio:"))
        return LocalSource(found.path, found.display_name)
    path = Path(source).expanduser()
    if not path.exists():
        raise invalid_field(
            "source", source, "a GGUF file, a model folder, ollama:NAME[:TAG] or lmstudio:PUBLISHER/REPO[/FILE]"
        )
    return LocalSource(path, path.stem if path.is_file() else path.name)


class _CountingReader:
    """The upload stream, advancing a progress bar as httpx reads it."""

    def __init__(self, path: Path, progress: Progress, task: TaskID) -> None:
        self.stream = path.open("rb")
        self.progress = progress
        self.task = task

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.progress.update(self.task, advance=len(data))
        return data

    def close(self) -> None:
        self.stream.close()


@contextmanager
def _upload_file(source: LocalSource) -> Iterator[tuple[Path, str]]:
    """The file to upload and its name: the GGUF itself, or a tar of the folder's model files."""
    if source.path.is_file():
        _check_gguf(source.path)
        name = source.path.name if source.path.suffix == ".gguf" else f"{source.display_name}.gguf"
        yield source.path, name
        return
    from services.trainer.imports.folders import PICKLE_SUFFIXES, weight_files

    weight_files(source.path)  # refuses a pickle-only or empty folder before uploading anything
    with tempfile.TemporaryDirectory(prefix="distrust-import-") as scratch:
        archive = Path(scratch) / f"{source.display_name}.tar"
        with tarfile.open(archive, "w") as tar:
            for file in sorted(p for p in source.path.iterdir() if p.is_file()):
                if file.suffix not in PICKLE_SUFFIXES and not file.name.startswith("."):
                    tar.add(file, arcname=f"{source.display_name}/{file.name}")
        yield archive, archive.name


def _check_gguf(path: Path) -> None:
    """Refuse here, before a long upload, what the worker would refuse from the header alone."""
    from services.trainer.imports.architectures import architecture_named
    from services.trainer.imports.header import MAGIC, check_types, read_header

    with path.open("rb") as stream:
        if stream.read(4) != MAGIC:
            return  # the worker names what else it is (a pickle, a tar)
    header = read_header(path)
    architecture_named(header.architecture, path)
    check_types(header, path)


def upload_model(client: GatewayClient, source: LocalSource, console: Console) -> dict[str, Any]:
    """Upload the model (purpose `model`) with a progress bar; the File object."""
    with _upload_file(source) as (path, name), bytes_progress(console) as progress:
        task = progress.add_task("uploading", total=path.stat().st_size, note=name)
        reader = _CountingReader(path, progress, task)
        try:
            record: dict[str, Any] = client.request(
                "POST", "/v1/files", data={"purpose": "model"}, files={"file": (name, reader)}
            )
        finally:
            reader.close()
    return record


def import_model(
    client: GatewayClient,
    source: str,
    *,
    name: str | None,
    quantization: str,
    public: bool,
    console: Console,
) -> dict[str, Any]:
    """Import SOURCE through the gateway and follow the job; the finished import. The upload is deleted after."""
    local = resolve_source(source)
    upload = upload_model(client, local, console)
    try:
        body = {"file": upload["id"], "name": name or local.display_name, "quantization": quantization}
        if public:
            body["public"] = True
        created: dict[str, Any] = client.request("POST", "/v1/models", json=body)
        return follow_import(client, created, console)
    finally:
        client.request("DELETE", f"/v1/files/{upload['id']}")


def follow_import(client: GatewayClient, record: dict[str, Any], console: Console) -> dict[str, Any]:
    """Follow an import's events (one bar step per step) until it ends."""
    if record["status"] not in TERMINAL:
        with count_progress(console) as progress:
            bar = progress.add_task("importing", total=None, note="")
            for event in client.stream_events(
                FineTuningJobEvent, "GET", f"/v1/models/imports/{record['id']}/events", params={"stream": "true"}
            ):
                progress.update(bar, advance=1, note=event.message)
    final: dict[str, Any] = client.request("GET", f"/v1/models/imports/{record['id']}")
    return final


def check_quantization(value: str) -> str:
    """The --quantization value, or a clear error naming the option."""
    from shared.schemas.model_import import IMPORT_QUANTIZATIONS

    if value not in IMPORT_QUANTIZATIONS:
        raise InvalidArgument(
            f"--quantization: got {value!r}, expected one of {', '.join(IMPORT_QUANTIZATIONS)}", param="quantization"
        )
    return value
