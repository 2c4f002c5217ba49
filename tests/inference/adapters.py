"""Helpers the inference tests import: adapters registered as a finished training job would."""

from __future__ import annotations

import time
from pathlib import Path

from shared.model_registry import AdapterRecord, ModelRegistry
from shared.storage import Bucket, ObjectStore


def register_adapter(
    registry: ModelRegistry, store: ObjectStore, directory: Path, *, name: str, owner: str, base: str, job_id: str
) -> AdapterRecord:
    files = {p.name: store.put_file(Bucket.ADAPTERS, f"{job_id}/{p.name}", p).sha256 or "" for p in directory.iterdir()}
    record = AdapterRecord(
        name=name, job_id=job_id, owner=owner, base_model=base, created=int(time.time()), files=files
    )
    registry.register_adapter(record)
    return record
