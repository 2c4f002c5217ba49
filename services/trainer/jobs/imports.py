"""Import use cases: check the uploaded file, the name and the options, then queue; read and follow imports."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from services.trainer.jobs.import_checks import check_upload_head
from services.trainer.jobs.records import ImportRecord
from shared.errors import NotFound, ResourceExhausted, invalid_field
from shared.files import FileService
from shared.files.models import FileObject, Purpose
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore, status_event
from shared.model_registry import NAME, ModelRegistry
from shared.schemas.model_import import IMPORT_QUANTIZATIONS, ImportQuantization
from shared.storage import ObjectStore

logger = logging.getLogger(__name__)

GB = 1e9
_MODEL_SUFFIXES = (".gguf", ".tar", ".tar.gz", ".tgz")


@dataclass(frozen=True)
class ImportRequest:
    """Which uploaded file to import, under what name (unset: derived from the file's), how, and for whom."""

    owner: str
    file: str
    name: str | None
    quantization: str
    public: bool


def default_name(filename: str) -> str:
    """`SmolLM2-135M-Instruct.Q4_1.gguf` → `SmolLM2-135M-Instruct.Q4_1`: a valid base-model name."""
    stem = filename
    for suffix in _MODEL_SUFFIXES:
        stem = stem.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:128] or "imported-model"


def import_memory_bytes(file_bytes: int, quantization: ImportQuantization) -> int:
    """Least memory an import needs: the source read whole, and the converted weights beside it.

    Kept quantized, the output is about the file's size; dequantized it is larger still (the worker checks
    again with the parameter count), so this bound only refuses what can never fit.
    """
    return 2 * file_bytes if quantization == "keep" else 3 * file_bytes


def check_import_fits(needed: int, budget: int, filename: str) -> None:
    """ResourceExhausted naming the file and both sizes when an import cannot fit the worker's memory budget."""
    if needed > budget:
        raise ResourceExhausted(
            f"file {filename}: importing it needs about {needed / GB:.2f} GB but the worker's memory budget is "
            f"{budget / GB:.2f} GB; import a smaller model or a more quantized file, or keep its quantization",
            param="file",
            code="model_too_large",
        )


class ImportService:
    """Imports of the owner's uploaded model files: created checked (the name reserved) and queued, read, followed."""

    def __init__(
        self,
        store: JobStore[ImportRecord],
        files: FileService,
        objects: ObjectStore,
        registry: ModelRegistry,
        enqueue: Callable[[str], None],
        *,
        budget_bytes: Callable[[], int],
    ) -> None:
        self.store = store
        self.files = files
        self.objects = objects
        self.registry = registry
        self.enqueue = enqueue
        self.budget_bytes = budget_bytes

    def create(self, request: ImportRequest) -> ImportRecord:
        quantization = _quantization(request.quantization)
        upload = self._model_file(request.owner, request.file)
        name = request.name or default_name(upload.filename)
        if not NAME.match(name):
            raise invalid_field(
                "name", name, "1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        check_import_fits(import_memory_bytes(upload.bytes, quantization), self.budget_bytes(), upload.filename)
        check_upload_head(self.objects, upload)
        record = ImportRecord(
            owner=request.owner, file=upload.id, name=name, quantization=quantization, public=request.public
        )
        # Claimed now, so two imports (or an export meanwhile) can never overwrite each other's model.
        self.registry.reserve_name(name, record.id, owner=record.registered_by)
        try:
            self.store.create(record)
        except BaseException:
            self.registry.release_name(name, record.id, owner=record.registered_by)
            raise
        self.store.add_event(record.id, status_event(f"Created model import {record.id}", JobStatus.QUEUED))
        self.enqueue(record.id)
        logger.info("import queued", extra={"job_id": record.id, "file_id": upload.id, "model": name})
        return record

    def _model_file(self, owner: str, file_id: str) -> FileObject:
        if not file_id:
            raise invalid_field("file", file_id, "the id of a file uploaded with purpose 'model'")
        try:
            upload = self.files.get(owner=owner, file_id=file_id)
        except NotFound as exc:
            raise NotFound(f"file: no such File object: {file_id}", param="file", code=exc.code) from exc
        if upload.purpose != Purpose.MODEL:
            raise invalid_field("file", file_id, f"a file uploaded with purpose 'model' (it has {upload.purpose})")
        return upload

    def get(self, owner: str, import_id: str) -> ImportRecord:
        return self.store.get_owned(import_id, owner)

    def list(self, owner: str, *, after: str | None, limit: int) -> tuple[list[ImportRecord], bool]:
        return self.store.list_owned(owner, after=after, limit=limit)

    def events(self, owner: str, import_id: str, *, after_sequence: int, follow: bool) -> Iterator[EventRecord]:
        self.store.get_owned(import_id, owner)
        return self.store.follow_events(import_id, after_sequence=after_sequence, follow=follow)


def _quantization(value: str) -> ImportQuantization:
    for known in IMPORT_QUANTIZATIONS:
        if value == known:
            return known
    if value == "":
        return "keep"
    raise invalid_field("quantization", value, f"one of {', '.join(IMPORT_QUANTIZATIONS)}")
