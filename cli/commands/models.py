"""`distrust models add`: register a local Hugging Face-layout model folder as a base model of the stack."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from cli.stack import control, layout
from services.trainer.models.inspect import inspect_model
from shared.errors import Unavailable
from shared.model_registry import BaseModelRecord, ModelRegistry
from shared.redis_store import connect
from shared.settings import RedisSettings, StorageSettings
from shared.storage import ObjectStore


def backends() -> tuple[StorageSettings, RedisSettings]:
    """The storage and Redis of DISTRUST_STORAGE_* / DISTRUST_REDIS_URL when set, else of the local stack."""
    if os.environ.get("DISTRUST_STORAGE_ENDPOINT") and os.environ.get("DISTRUST_REDIS_URL"):
        storage = StorageSettings()
        if storage.access_key is None or storage.secret_key is None:
            raise Unavailable("set DISTRUST_STORAGE_ACCESS_KEY and DISTRUST_STORAGE_SECRET_KEY too")
        return storage, RedisSettings()
    data = control.data_dir()
    if not control.running_state(data):
        raise Unavailable(
            "no stack: start it with `distrust up`, or set DISTRUST_STORAGE_ENDPOINT, "
            "DISTRUST_STORAGE_ACCESS_KEY, DISTRUST_STORAGE_SECRET_KEY and DISTRUST_REDIS_URL"
        )
    secrets = data.secrets()
    ports = layout.Ports.from_env(layout.LocalStackSettings())
    return layout.storage_settings(ports, secrets), RedisSettings(url=layout.redis_url(ports, secrets))


def add_model(name: str, directory: Path) -> BaseModelRecord:
    """Register the model folder `directory` as base model `name` (uploads its files; checks it is a model first)."""
    info = inspect_model(directory)  # a clear error when the folder is not a model
    storage, redis_settings = backends()
    client = connect(redis_settings)
    try:
        return ModelRegistry(client, ObjectStore(storage)).register_base(name, directory, info=dataclasses.asdict(info))
    finally:
        client.close()
