"""Running one import on a worker: fetch the upload, check it fits, convert it, register it with its provenance."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.trainer.imports.gguf import DTYPES
from services.trainer.imports.header import MAGIC, read_header
from services.trainer.imports.sources import import_model
from services.trainer.jobs.imports import check_import_fits, import_memory_bytes
from services.trainer.jobs.records import ImportRecord
from services.trainer.models.inspect import inspect_model
from shared.errors import DistrustError
from shared.files import FileService
from shared.jobs import lifecycle
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry
from shared.schemas.model_import import ImportQuantization
from shared.storage import Bucket, ObjectStore

logger = logging.getLogger(__name__)


@dataclass
class ImportContext:
    """What an import worker works with: stores, registry, files, a cache folder, its memory budget, its lease."""

    store: JobStore[ImportRecord]
    registry: ModelRegistry
    files: FileService
    objects: ObjectStore
    cache_dir: Path
    holder: str
    budget_bytes: Callable[[], int]
    lease_ttl_s: int = 30


class ImportRunner(lifecycle.LeasedRunner[ImportContext]):
    """Runs one import under its lease: download, memory check, convert, register as a base model."""

    ctx: ImportContext

    def _run(self, record: ImportRecord, lost: threading.Event) -> None:
        workdir = self.ctx.cache_dir / "imports" / record.id
        started: ImportRecord | None = lifecycle.begin(self.store, record.id, "Import started", workdir)
        if started is None:
            return
        record = started
        try:
            upload = self.ctx.files.get(owner=record.owner, file_id=record.file)
            self._step(record.id, f"Fetching {upload.filename} ({upload.bytes} bytes)")
            source = workdir / "upload"
            self.ctx.objects.download_file(
                Bucket.FILES, upload.storage_key, source, expected_sha256=upload.sha256 or None
            )
            needed = _memory_needed(source, upload.bytes, record.quantization)
            check_import_fits(needed, self.ctx.budget_bytes(), upload.filename)
            self._step(record.id, f"Converting {upload.filename} (quantization: {record.quantization})")
            out = workdir / "model"
            try:
                provenance = import_model(source, out, record.quantization, file_name=upload.filename)
            except DistrustError as exc:
                raise _naming_upload(exc, source, upload.filename) from exc
            if lost.is_set():
                return
            self._step(record.id, f"Registering {record.name}")
            self.ctx.registry.register_base(
                record.name,
                out,
                info=dataclasses.asdict(inspect_model(out)),
                owned_by=record.registered_by,
                reservation=record.id,
                provenance=provenance,
            )
        except BaseException:
            if not lost.is_set():  # else the worker that took the job over still needs the name
                self.ctx.registry.release_name(record.name, record.id, owner=record.registered_by)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.ctx.registry.release_name(record.name, record.id, owner=record.registered_by)
        lifecycle.finish(
            self.store,
            record.id,
            JobStatus.SUCCEEDED,
            f"Imported as {record.name}",
            mutate=lambda r: setattr(r, "provenance", provenance),
        )

    def _step(self, import_id: str, message: str) -> None:
        self.store.add_event(import_id, EventRecord(message=message, type="progress", data={"step": message}))


def _naming_upload(error: DistrustError, source: Path, filename: str) -> DistrustError:
    """The error with the worker's copy of the upload called by the name the user uploaded it under."""
    return type(error)(error.message.replace(str(source), filename), param=error.param, code=error.code)


def _memory_needed(source: Path, file_bytes: int, quantization: ImportQuantization) -> int:
    """The import's peak memory: for a GGUF dequantized, the file plus every parameter in the target dtype."""
    with source.open("rb") as stream:
        is_gguf = stream.read(4) == MAGIC
    if not is_gguf or quantization == "keep":
        return import_memory_bytes(file_bytes, quantization)
    parameters = 0
    for tensor in read_header(source).tensors:
        count = 1
        for size in tensor.shape:
            count *= size
        parameters += count
    return file_bytes + parameters * DTYPES[quantization].size
