"""Running one export on a worker: fetch base and adapter, fuse (quantize, GGUF), register the result as a model."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from services.trainer.exports import fuse_adapter
from services.trainer.jobs.records import ExportRecord
from services.trainer.models.inspect import inspect_model
from shared.jobs import lifecycle
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry
from shared.schemas.export import ExportResult, GgufFile
from shared.storage import Bucket, ObjectStore

logger = logging.getLogger(__name__)


@dataclass
class ExportContext:
    """What an export worker works with: the store, the registry, the object store, a cache folder, its lease."""

    store: JobStore[ExportRecord]
    registry: ModelRegistry
    objects: ObjectStore
    cache_dir: Path
    holder: str
    lease_ttl_s: int = 30


class ExportRunner(lifecycle.LeasedRunner[ExportContext]):
    """Runs one export under its lease: fuse, quantize, GGUF, then register the result as a base model."""

    ctx: ExportContext

    def _run(self, record: ExportRecord, lost: threading.Event) -> None:
        workdir = self.ctx.cache_dir / "exports" / record.id
        started: ExportRecord | None = lifecycle.begin(self.store, record.id, "Export started", workdir)
        if started is None:
            return
        record = started
        try:
            self._step(record.id, "Fetching the base model and the adapter")
            base_dir = self.ctx.registry.fetch_base(record.base_model, self.ctx.cache_dir, owner=record.owner)
            adapter = self.ctx.registry.get_adapter(record.model, owner=record.owner)
            adapter_dir = self.ctx.registry.fetch_adapter(adapter, self.ctx.cache_dir)
            out = workdir / record.output_model
            gguf_file = workdir / f"{record.output_model}.gguf" if record.options.gguf else None
            result = fuse_adapter(
                base_dir,
                adapter_dir,
                out,
                record.options,
                progress=lambda m: self._step(record.id, m),
                gguf_file=gguf_file,
            )
            gguf: GgufFile | None = None
            if result.gguf is not None:
                key = f"exports/{record.id}/{result.gguf.name}"
                info = self.ctx.objects.put_file(Bucket.RESULTS, key, result.gguf)
                gguf = GgufFile(key=key, bytes=info.size, sha256=info.sha256)
            if lost.is_set():
                return
            self._step(record.id, f"Registering {record.output_model}")
            self.ctx.registry.register_base(
                record.output_model,
                out,
                info=dataclasses.asdict(inspect_model(out)),
                owned_by=record.owner,
                reservation=record.id,
            )
        except BaseException:
            if not lost.is_set():  # else the worker that took the job over still needs the name
                self.ctx.registry.release_name(record.output_model, record.id, owner=record.owner)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.ctx.registry.release_name(record.output_model, record.id, owner=record.owner)
        written = {k: v for k, v in result.to_dict().items() if k in ExportResult.model_fields}
        summary = ExportResult.model_validate({**written, "gguf": gguf})
        lifecycle.finish(
            self.store,
            record.id,
            JobStatus.SUCCEEDED,
            f"Exported as {record.output_model}",
            mutate=lambda r: setattr(r, "result", summary),
        )

    def _step(self, export_id: str, message: str) -> None:
        self.store.add_event(export_id, EventRecord(message=message, type="progress", data={"step": message}))
