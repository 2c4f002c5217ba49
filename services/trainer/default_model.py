"""The default base model of a fresh stack: built once from the shipped corpus, stored, registered."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from pathlib import Path
from typing import Unpack

from services.trainer.models.inspect import inspect_model
from services.trainer.models.tiny import DEFAULT_MODEL_NAME, TinySizes, build_tiny_model
from shared.model_registry import BaseModelRecord, ModelRegistry

logger = logging.getLogger(__name__)


def ensure_default_model(
    registry: ModelRegistry, work_dir: Path, *, name: str = DEFAULT_MODEL_NAME, **sizes: Unpack[TinySizes]
) -> BaseModelRecord:
    """Return the registered default model, building and uploading it on first use (seeded: reproducible)."""
    existing = registry.get_base(name)
    if existing is not None:
        return existing
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="build-") as tmp:
        path = build_tiny_model(Path(tmp) / name, seed=0, **sizes)
        info = dataclasses.asdict(inspect_model(path))
        record = registry.register_base(name, path, info=info)
    logger.info("default model built", extra={"model": name, "bytes": record.bytes})
    return record
