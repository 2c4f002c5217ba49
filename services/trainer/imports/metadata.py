"""Typed access to the metadata `mlx.core.load` returns for a GGUF file (strings, string lists, arrays)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import mlx.core as mx

from shared.errors import InvalidArgument, invalid_field

MetadataValue = str | list[str] | mx.array


class GgufMetadata:
    """The file's key/value metadata; every accessor names the key and the file when a value is missing or wrong."""

    def __init__(self, values: Mapping[str, MetadataValue], path: Path) -> None:
        self.values = values
        self.path = path

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def _missing(self, key: str) -> InvalidArgument:
        return InvalidArgument(f"file {self.path}: metadata key {key!r} is missing", param=key)

    def _array(self, key: str) -> mx.array:
        value = self.values.get(key)
        if value is None:
            raise self._missing(key)
        if not isinstance(value, mx.array):
            raise invalid_field(key, value, "a number")
        return value

    def integer(self, key: str, default: int | None = None) -> int:
        if default is not None and key not in self.values:
            return default
        value = self._array(key)
        item = value.item() if value.ndim == 0 else None
        if not isinstance(item, int) or isinstance(item, bool):
            raise invalid_field(key, value.tolist(), "an integer")
        return item

    def number(self, key: str, default: float | None = None) -> float:
        if default is not None and key not in self.values:
            return default
        value = self._array(key)
        item = value.item() if value.ndim == 0 else None
        if not isinstance(item, int | float):
            raise invalid_field(key, value.tolist(), "a number")
        return float(item)

    def flag(self, key: str, default: bool) -> bool:
        if key not in self.values:
            return default
        return bool(self._array(key).item())

    def text(self, key: str, default: str | None = None) -> str:
        value = self.values.get(key, default)
        if value is None:
            raise self._missing(key)
        if not isinstance(value, str):
            raise invalid_field(key, value, "a string")
        return value

    def texts(self, key: str) -> list[str]:
        value = self.values.get(key)
        if value is None:
            raise self._missing(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise invalid_field(key, value, "a list of strings")
        return value

    def integers(self, key: str) -> list[int]:
        items = self._array(key).tolist()
        if not isinstance(items, list) or not all(isinstance(v, int) for v in items):
            raise invalid_field(key, items, "a list of integers")
        return [v for v in items if isinstance(v, int)]

    def numbers(self, key: str) -> list[float]:
        items = self._array(key).tolist()
        if not isinstance(items, list) or not all(isinstance(v, int | float) for v in items):
            raise invalid_field(key, items, "a list of numbers")
        return [float(v) for v in items if isinstance(v, int | float)]
