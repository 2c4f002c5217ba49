"""Input checks: every error names the document index and the field, e.g. `documents[3].metadata.year`.

Only the metadata fields the scorer reads are checked; other fields are ignored. `None` counts as absent for
every field (the reference crashes on a `None` source_type; here it means "no source type").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shared.errors import InvalidArgument

MAX_CHARS: Final = 1_000_000

_YEAR_TYPES: Final = ((int, str), "an integer or a string")
_TEXT_TYPES: Final = ((str,), "a string")
# The metadata fields the reference reads, and what each may hold.
METADATA_FIELD_TYPES: Final[dict[str, tuple[tuple[type, ...], str]]] = {
    "year": _YEAR_TYPES,
    "date": _YEAR_TYPES,
    "publication_date": _YEAR_TYPES,
    "published": _YEAR_TYPES,
    "source": _TEXT_TYPES,
    "url": _TEXT_TYPES,
    "publisher": _TEXT_TYPES,
    "source_type": _TEXT_TYPES,
}
_CHECKED_FIELDS: Final = frozenset(METADATA_FIELD_TYPES)


def wrong_type(field: str, value: object, expected: str) -> InvalidArgument:
    """`<field>: got <value> (<type>), expected <expected>`, with param = field."""
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return InvalidArgument(f"{field}: got {shown} ({type(value).__name__}), expected {expected}", param=field)


def validate_document(text: object, metadata: object, *, index: int, max_chars: int = MAX_CHARS) -> None:
    """Check one document's text and metadata, raising InvalidArgument on the first bad field.

    `text` must be a string of at most `max_chars` characters and `metadata` None or a mapping whose read
    fields have the right types.
    """
    if not isinstance(text, str):
        raise wrong_type(f"documents[{index}].text", text, "a string")
    if len(text) > max_chars:
        field = f"documents[{index}].text"
        raise InvalidArgument(
            f"{field}: {len(text)} characters, over the {max_chars} limit",
            param=field,
            code="string_above_max_length",
        )
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        raise wrong_type(f"documents[{index}].metadata", metadata, "an object (a mapping of fields) or null")
    if _CHECKED_FIELDS.isdisjoint(metadata.keys()):
        return
    for name, (types, expected) in METADATA_FIELD_TYPES.items():
        value = metadata.get(name)
        # bool is an int subclass; a year of True would be read as year 1.
        if value is not None and (isinstance(value, bool) or not isinstance(value, types)):
            raise wrong_type(f"documents[{index}].metadata.{name}", value, expected)


def validate_known_citation_count(value: Any, *, index: int) -> None:
    """A known citation count is None or a non-negative int."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise wrong_type(f"documents[{index}].known_citation_count", value, "a non-negative integer or null")
