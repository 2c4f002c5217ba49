"""Publication year (reference §2.3): metadata first, then the start of the text; and its age bucket.

Both profiles extract the same year; they differ only in what a missing year means for entropy
(`profiles.py`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from services.scorer.scoring.lexicons import (
    YEAR_METADATA_FIELDS,
    YEAR_METADATA_PATTERN,
    YEAR_STANDALONE_PATTERN,
    YEAR_STATEMENT_PATTERN,
    YEAR_TEXT_MAX,
    YEAR_TEXT_MIN,
    YEAR_TEXT_WINDOW,
)
from services.scorer.scoring.textview import TextView

_METADATA_YEAR: Final = re.compile(YEAR_METADATA_PATTERN)
# Case-sensitive on `TextView.folded`, which matches as the reference's IGNORECASE search on the text does.
_STATEMENT: Final = re.compile(YEAR_STATEMENT_PATTERN)
_STATEMENT_WORDS: Final = ("copyright", "©", "published", "written")
_STANDALONE: Final = re.compile(YEAR_STANDALONE_PATTERN)

YEAR_FROM_METADATA: Final = "metadata"
YEAR_FROM_TEXT: Final = "text"
YEAR_UNKNOWN: Final = "unknown"


class Year(NamedTuple):
    """The year (None when unknown), where it came from, and the evidence (a field name or a snippet)."""

    value: int | None
    source: str
    evidence: str | None


NO_YEAR: Final = Year(None, YEAR_UNKNOWN, None)


def extract_year(view: TextView, metadata: Mapping[str, Any] | None) -> Year:
    """The first truthy metadata year field, else the first year statement, else the first standalone year."""
    if metadata:
        for field in YEAR_METADATA_FIELDS:
            value = metadata.get(field)
            if value:
                # The reference returns an int as is, with no range check (bool is excluded by validation).
                if isinstance(value, int):
                    return Year(value, YEAR_FROM_METADATA, field)
                match = _METADATA_YEAR.search(str(value))
                if match:
                    return Year(int(match.group(1)), YEAR_FROM_METADATA, field)
    return _year_in_text(view)


def _year_in_text(view: TextView) -> Year:
    text = view.folded
    # Only the first statement is considered; out of range, fall through to a standalone year.
    if any(word in text for word in _STATEMENT_WORDS):
        match = _STATEMENT.search(text, 0, YEAR_TEXT_WINDOW)
        if match:
            year = int(match.group(1))
            if YEAR_TEXT_MIN <= year <= YEAR_TEXT_MAX:
                return Year(year, YEAR_FROM_TEXT, match.group(0))
    # A standalone year starts with '1' or '2'; start the regex at the first one (str.find is far faster).
    ones = text.find("1", 0, YEAR_TEXT_WINDOW)
    twos = text.find("2", 0, YEAR_TEXT_WINDOW)
    start = ones if twos < 0 else twos if ones < 0 else min(ones, twos)
    if start < 0:
        return NO_YEAR
    match = _STANDALONE.search(text, start, YEAR_TEXT_WINDOW)
    if match:
        year = int(match.group(1))
        if YEAR_TEXT_MIN <= year <= YEAR_TEXT_MAX:
            return Year(year, YEAR_FROM_TEXT, match.group(0))
    return NO_YEAR
