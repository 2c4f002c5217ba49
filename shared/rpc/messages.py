"""Pydantic models <-> protobuf messages whose field names are equal: one generic conversion each way.

A contract's message and its schema model share field names (an alias such as `lambda` counts as the name), so
values move by name: an unset message field is an absent key (the model's default applies), `None` and `"auto"`
leave a field unset, and an enum travels as its lower-case name without the enum's prefix
(`DISTRUST_MODE_WEIGHTED` <-> "weighted"), the one enum <-> str table for every contract.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.struct_pb2 import Struct
from pydantic import BaseModel

from shared.errors import invalid_field

M = TypeVar("M", bound=Message)
T = TypeVar("T", bound=BaseModel)
STRUCT = "google.protobuf.Struct"
UNSET = (None, "auto")


def _prefix(enum: EnumDescriptor) -> str:
    return enum.values[0].name.removesuffix("UNSPECIFIED")


def enum_name(enum: EnumDescriptor, number: int, *, field: str) -> str | None:
    """`DISTRUST_MODE_WEIGHTED` -> "weighted"; the unspecified value -> None; an unknown number is an error."""
    value = enum.values_by_number.get(number)
    if value is None:
        names = ", ".join(enum_name(enum, v.number, field=field) or "" for v in enum.values[1:])
        raise invalid_field(field, number, f"one of {names}")
    return value.name.removeprefix(_prefix(enum)).lower() if value.number else None


def enum_number(enum: EnumDescriptor, name: str) -> int:
    """The number of a value by its short name: "weighted" -> `DISTRUST_MODE_WEIGHTED`."""
    return enum.values_by_name[_prefix(enum) + name.upper()].number


def message_fields(message: Message, *, path: str = "") -> dict[str, Any]:
    """The fields set on `message` by name, enums as names and sub-messages as dicts (Struct as its JSON, see `open_data`)."""
    out: dict[str, Any] = {}
    for field, value in message.ListFields():
        where = f"{path}{field.name}"
        if field.message_type is not None and field.message_type.full_name == STRUCT:
            out[field.name] = open_data(value)
        elif field.message_type is not None and field.is_repeated:
            out[field.name] = [message_fields(item, path=f"{where}.") for item in value]
        elif field.message_type is not None:
            out[field.name] = message_fields(value, path=f"{where}.")
        elif field.enum_type is not None:
            name = enum_name(field.enum_type, value, field=where)
            if name is not None:
                out[field.name] = name
        else:
            out[field.name] = list(value) if field.is_repeated else value
    return out


def open_data(message: Struct) -> dict[str, Any]:
    """A Struct as plain JSON data (open data only), its whole numbers as ints."""
    return {key: _whole_numbers(value) for key, value in MessageToDict(message).items()}


def _whole_numbers(value: object) -> object:
    # A Struct holds every number as a double: a count of 3 would come back as 3.0 (and show as "n=3.0").
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def from_message(model: type[T], message: Message) -> T:
    """The schema model of a message (the model validates, so a bad value raises naming the field)."""
    return model.model_validate(message_fields(message))


def _proto_values(descriptor: Descriptor, data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(descriptor.fields_by_name)
    if unknown:
        raise TypeError(f"{descriptor.full_name} has no field {sorted(unknown)}: the model and contract drifted")
    out: dict[str, Any] = {}
    for name, value in data.items():
        field = descriptor.fields_by_name[name]
        if value in UNSET or (isinstance(value, list) and not value and field.message_type is None):
            continue
        if field.enum_type is not None:
            out[name] = enum_number(field.enum_type, str(value))
        elif field.message_type is not None and field.message_type.full_name != STRUCT:
            nested = field.message_type
            out[name] = (
                [_proto_values(nested, v) for v in value] if isinstance(value, list) else _proto_values(nested, value)
            )
        else:
            out[name] = value
    return out


def to_message(message: type[M], model: BaseModel, *, exclude: frozenset[str] = frozenset(), **extra: Any) -> M:
    """The message for a schema model: its fields by name (minus `exclude`), plus `extra` message fields."""
    data = model.model_dump(by_alias=True, exclude=set(exclude))
    descriptor = cast(Descriptor, message.DESCRIPTOR)  # upb's descriptor class implements this interface
    values = _proto_values(descriptor, data)
    try:
        return message(**values, **extra)
    except ValueError:
        # A number the schema let through but the field's width cannot hold (a uint32 count of 2**40).
        for name, value in values.items():
            try:
                message(**{name: value})
            except ValueError:
                raise invalid_field(name, value, "a value the contract's field can hold") from None
        raise
