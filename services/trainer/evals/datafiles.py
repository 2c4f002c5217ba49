"""Reading evaluation data files: JSONL (or a JSON list) of objects, every error naming the line and the field.

Every loader checks a whole file before anything runs, so a typo on line 40 stops an evaluation at submission
rather than after the first 39 items were scored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from shared.errors import InvalidArgument
from shared.records import RecordError, parse_json_object

T = TypeVar("T")

DATA_DIR = Path(__file__).resolve().parent / "data"


class ItemError(ValueError):
    """What is wrong with one item (the loader adds where it is)."""


def fail(field: str, where: str, reason: str) -> InvalidArgument:
    """The error for a bad item: the field, then where in the file, then what is wrong."""
    return InvalidArgument(f"{field}: {where}: {reason}", param=field)


def read_objects(path: Path | str, *, field: str, allow_list: bool = False) -> list[tuple[str, dict[str, Any]]]:
    """(where, object) per item: `where` is "line N" for JSONL, "item N" (0-based) for a JSON list.

    Blank lines are skipped; anything else that is not a JSON object is an error naming its line.
    """
    path = Path(path)
    raw = _read_bytes(path, field)
    is_list = allow_list and raw.lstrip().startswith(b"[")
    items = _list_items(raw, field) if is_list else _jsonl_items(raw, field)
    if not items:
        raise InvalidArgument(f"{field}: the file {path.name!r} has no items", param=field)
    return items


def _read_bytes(path: Path, field: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise InvalidArgument(f"{field}: no such file {str(path)!r}", param=field) from exc
    except OSError as exc:
        raise InvalidArgument(f"{field}: cannot read {str(path)!r} ({exc.strerror})", param=field) from exc


def _list_items(raw: bytes, field: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"{field}: not a valid JSON list ({exc})", param=field) from exc
    items = []
    for i, obj in enumerate(value):
        if not isinstance(obj, dict):
            raise fail(field, f"item {i}", f"expected a JSON object, got {type(obj).__name__}")
        items.append((f"item {i}", obj))
    return items


def _jsonl_items(raw: bytes, field: str) -> list[tuple[str, dict[str, Any]]]:
    items = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((f"line {number}", parse_json_object(line)))
        except RecordError as exc:
            raise fail(field, f"line {number}", str(exc)) from exc
    return items


def text_field(obj: dict[str, Any], key: str) -> str:
    """The non-empty string at `key`; ItemError when it is missing or anything else."""
    if key not in obj:
        raise ItemError(f'missing "{key}"')
    value = obj[key]
    if not isinstance(value, str) or not value.strip():
        raise ItemError(f'"{key}" must be a non-empty string, got {value!r:.60}')
    return value


def optional_text(obj: dict[str, Any], key: str, default: str | None = None) -> str | None:
    """The non-empty string at `key`, or `default` when the key is missing or null."""
    if obj.get(key) is None:
        return default
    return text_field(obj, key)


def int_field(obj: dict[str, Any], key: str, low: int, high: int | None = None, default: int | None = None) -> int:
    """The integer at `key`, within [low, high]; `default` when missing (ItemError when there is none)."""
    if key not in obj:
        if default is None:
            raise ItemError(f'missing "{key}"')
        return default
    value = obj[key]
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ItemError(f'"{key}" must be an integer {bounds}, got {value!r}')
    return value


def fraction_field(obj: dict[str, Any], key: str, default: float) -> float:
    """The number in [0, 1] at `key`, as a float; `default` when missing."""
    value = obj.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0.0 <= value <= 1.0
    ):
        raise ItemError(f'"{key}" must be a number in [0, 1], got {value!r}')
    return float(value)


def string_list(obj: dict[str, Any], key: str, *, min_items: int = 0) -> list[str]:
    """The list of non-empty strings at `key` (empty when missing), at least `min_items` long."""
    value = obj.get(key, [])
    if not isinstance(value, list) or len(value) < min_items:
        raise ItemError(f'"{key}" must be a list of at least {min_items} strings, got {value!r:.60}')
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not entry.strip():
            raise ItemError(f'"{key}[{i}]" must be a non-empty string, got {entry!r:.60}')
    return value


def check_keys(obj: dict[str, Any], allowed: set[str], what: str) -> None:
    """Unknown keys are errors: a misspelt rule would otherwise be ignored silently."""
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ItemError(f"unknown {what} key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def unique_id(seen: set[str], item_id: str) -> None:
    """Add `item_id` to `seen`; ItemError when an earlier item had it."""
    if item_id in seen:
        raise ItemError(f'duplicate "id" {item_id!r}')
    seen.add(item_id)


def load_items(
    path: Path | str,
    parse: Callable[[dict[str, Any], int], T],
    id_of: Callable[[T], str],
    *,
    field: str,
    limit: int | None,
    allow_list: bool = False,
) -> list[T]:
    """Every object of a data file parsed by `parse(obj, index)`, ids unique; errors name the line."""
    items: list[T] = []
    seen: set[str] = set()
    for index, (where, obj) in enumerate(read_objects(path, field=field, allow_list=allow_list)):
        try:
            item = parse(obj, index)
            unique_id(seen, id_of(item))
        except (ItemError, InvalidArgument) as exc:
            raise fail(field, where, getattr(exc, "message", str(exc))) from exc
        items.append(item)
    return items[:limit] if limit is not None else items
