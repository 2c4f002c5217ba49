"""`google.protobuf.Struct` for open data, both ways, with JSON's integers kept integers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, struct_pb2


def to_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    """A Struct holding a JSON-ready mapping."""
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """The mapping a Struct holds; whole numbers come back as ints (a Struct stores every number as a double)."""
    return {key: _plain(value) for key, value in json_format.MessageToDict(struct).items()}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
