"""Export use cases: check the adapter, the options and the output name, then queue; read and follow exports."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from services.trainer.jobs.records import ExportRecord
from shared.errors import FailedPrecondition, invalid_field
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore, status_event
from shared.model_registry import NAME, ModelRegistry
from shared.schemas.export import ExportOptions

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportRequest:
    """Which adapter to export, under what name (unset: derived from the adapter's), with which options."""

    owner: str
    model: str
    name: str | None
    options: ExportOptions


def default_name(adapter_name: str, options: ExportOptions) -> str:
    """`ft:base:suffix:id` → `base-suffix-id-fused` (plus `-q4` / `-q8`): a valid base-model name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", adapter_name.removeprefix("ft:")).strip("-.")
    suffix = f"-q{options.quantize_bits}" if options.quantize_bits else ""
    return f"{stem}-fused{suffix}"[:128]


class ExportService:
    """Exports of the owner's adapters: created checked (the output name reserved) and queued, read, followed."""

    def __init__(self, store: JobStore[ExportRecord], registry: ModelRegistry, enqueue: Callable[[str], None]) -> None:
        self.store = store
        self.registry = registry
        self.enqueue = enqueue

    def create(self, request: ExportRequest) -> ExportRecord:
        adapter = self.registry.get_adapter(request.model, owner=request.owner)
        if self.registry.get_base(adapter.base_model, owner=request.owner) is None:
            raise FailedPrecondition(
                f"model: {adapter.name!r} was trained on {adapter.base_model!r}, which is not a "
                f"registered base model; only adapters of registered base models can be exported",
                param="model",
                code="base_model_not_registered",
            )
        name = request.name or default_name(adapter.name, request.options)
        if not NAME.match(name):
            raise invalid_field(
                "name", name, "1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"
            )
        record = ExportRecord(
            owner=request.owner,
            model=adapter.name,
            base_model=adapter.base_model,
            output_model=name,
            options=request.options,
        )
        # Claimed now, so two exports (or a model registered meanwhile) can never overwrite each other.
        self.registry.reserve_name(name, record.id, owner=record.owner)
        try:
            self.store.create(record)
        except BaseException:
            self.registry.release_name(name, record.id, owner=record.owner)
            raise
        self.store.add_event(record.id, status_event(f"Created export {record.id}", JobStatus.QUEUED))
        self.enqueue(record.id)
        logger.info("export queued", extra={"job_id": record.id, "model": adapter.name, "output_model": name})
        return record

    def get(self, owner: str, export_id: str) -> ExportRecord:
        return self.store.get_owned(export_id, owner)

    def list(self, owner: str, *, after: str | None, limit: int) -> tuple[list[ExportRecord], bool]:
        return self.store.list_owned(owner, after=after, limit=limit)

    def events(self, owner: str, export_id: str, *, after_sequence: int, follow: bool) -> Iterator[EventRecord]:
        self.store.get_owned(export_id, owner)
        return self.store.follow_events(export_id, after_sequence=after_sequence, follow=follow)
