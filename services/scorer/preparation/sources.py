"""Source types: the known ones, the filename → source-type mapping and the trivium category of each.

Data from `reference-implementation.md` §3.2 (filename map, first matching key wins, order matters) and
§3.4 (trivium map). The known types are the 13 entries of the scorer's prior table (§2.7): when a record's
source type is one of them the scorer applies the hybrid 0.7 · prior + 0.3 · dynamic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

KNOWN_SOURCE_TYPES: tuple[str, ...] = (
    "patent_pre1970",
    "classical_philosophy",
    "historical_book",
    "classical_literature",
    "classical_rhetoric",
    "historical_newspaper",
    "preprint",
    "logic_training",
    "academic_paper",
    "news_modern",
    "medical_guidelines",
    "wiki",
    "government",
)

#: Label used in records and reports when no source type could be resolved.
UNKNOWN_SOURCE_TYPE = "unknown"

#: Ordered (substring of the lower-cased file name, source type); the first key contained wins, so
#: "internet_archive_classical_literature.jsonl" is classical_literature, not historical_book.
FILENAME_SOURCE_MAP: tuple[tuple[str, str], ...] = (
    ("big_patent", "patent_pre1970"),
    ("bigpatent", "patent_pre1970"),
    ("hupd", "patent_pre1970"),
    ("patent", "patent_pre1970"),
    ("philosophy", "classical_philosophy"),
    ("plato", "classical_philosophy"),
    ("aristotle", "classical_philosophy"),
    ("pg19", "classical_literature"),
    ("gutenberg", "classical_literature"),
    ("literature", "classical_literature"),
    ("speech", "classical_rhetoric"),
    ("rhetoric", "classical_rhetoric"),
    ("oration", "classical_rhetoric"),
    ("americanstories", "historical_newspaper"),
    ("chronicling", "historical_newspaper"),
    ("newspaper", "historical_newspaper"),
    ("internet_archive", "historical_book"),
    ("arxiv", "preprint"),
    ("s2orc", "academic_paper"),
    ("pes2o", "academic_paper"),
    ("scitldr", "academic_paper"),
    ("sciq", "academic_paper"),
    ("bigbench", "logic_training"),
    ("logical", "logic_training"),
    ("wikipedia", "wiki"),
    ("wiki", "wiki"),
    ("medical", "medical_guidelines"),
    ("meadow", "medical_guidelines"),
    ("cnn", "news_modern"),
    ("dailymail", "news_modern"),
)

TRIVIUM_CATEGORIES: tuple[str, ...] = ("grammar", "logic", "rhetoric")

#: Fixed trivium label per known source type (reference §3.4).
TRIVIUM_BY_SOURCE_TYPE: dict[str, str] = {
    "patent_pre1970": "logic",
    "classical_philosophy": "logic",
    "preprint": "logic",
    "logic_training": "logic",
    "academic_paper": "logic",
    "medical_guidelines": "logic",
    "historical_book": "rhetoric",
    "classical_literature": "rhetoric",
    "historical_newspaper": "rhetoric",
    "news_modern": "rhetoric",
    "government": "rhetoric",
    "classical_rhetoric": "grammar",
    "wiki": "grammar",
}


def base_name(name: str) -> str:
    """The file name without any directory part (either separator)."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def source_type_for_filename(name: str) -> str | None:
    """The reference's filename mapping on the base name, lower-cased; None when no key matches."""
    lowered = base_name(name).lower()
    for key, source_type in FILENAME_SOURCE_MAP:
        if key in lowered:
            return source_type
    return None


def record_source_type(record: dict[str, Any]) -> str | None:
    """A record's own `source_type` field (spec §6), stripped; None when absent, empty or not a string."""
    value = record.get("source_type")
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def trivium_category(source_type: str | None, record: Mapping[str, Any]) -> str | None:
    """The fixed label of a known source type; else the record's own valid label; else None."""
    if source_type in TRIVIUM_BY_SOURCE_TYPE:
        return TRIVIUM_BY_SOURCE_TYPE[source_type]
    own = record.get("trivium_category")
    if isinstance(own, str) and own in TRIVIUM_CATEGORIES:
        return own
    return None
