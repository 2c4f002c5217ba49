"""Running one export on a worker: fetch base and adapter, fuse (quantize, GGUF), register the result as a model."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from services.trainer.exports import ExportOptions, fuse_adapter
from services.trainer.jobs.records import ExportRecord
from services.trainer.models.inspect import inspect_model
from shared.jobs import lifecycle
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore
from shared.model_registry import ModelRegistry
from shared.storage import Bucket, ObjectStore

logger = logging.getLogger(__name__)


@dataclass
class ExportContext:
    store: JobStore[ExportRecord]
    registry: ModelRegistry
    objects: ObjectStore
    cache_dir: Path
    holder: str
    lease_ttl_s: int = 30


class ExportRunner(lifecycle.LeasedRunner):
    ctx: ExportContext

    def _run(self, record: ExportRecord, lost: threading.Event) -> None:
        workdir = self.ctx.cache_dir / "exports" / record.id
        record = lifecycle.begin(self.store, record.id, "Export started", workdir)
        if record is None:
            return
        try:
            self._step(record.id, "Fetching the base model and the adapter")
            base_dir = self.ctx.registry.fetch_base(record.base_model, self.ctx.cache_dir)
            adapter = self.ctx.registry.get_adapter(record.model, owner=record.owner)
            adapter_dir = self.ctx.registry.fetch_adapter(adapter, self.ctx.cache_dir)
            options = ExportOptions.from_mapping(record.options)
            out = workdir / record.output_model
            gguf_file = workdir / f"{record.output_model}.gguf" if options.gguf else None
            result = fuse_adapter(
                base_dir, adapter_dir, out, options, progress=lambda m: self._step(record.id, m), gguf_file=gguf_file
            )
            gguf: dict[str, object] | None = None
            if result.gguf is not None:
                key = f"exports/{record.id}/{result.gguf.name}"
                info = self.ctx.objects.put_file(Bucket.RESULTS, key, result.gguf)
                gguf = {"key": key, "bytes": info.size, "sha256": info.sha256}
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
                self.ctx.registry.release_name(record.output_model, record.id)
            raise
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        self.ctx.registry.release_name(record.output_model, record.id)
        summary = {**result.to_dict(), "gguf": gguf}
        summary.pop("path")
        lifecycle.finish(
            self.store,
            record.id,
            JobStatus.SUCCEEDED,
            f"Exported as {record.output_model}",
            mutate=lambda r: setattr(r, "result", summary),
        )

    def _step(self, export_id: str, message: str) -> None:
        self.store.add_event(export_id, EventRecord(message=message, type="progress", data={"step": message}))
