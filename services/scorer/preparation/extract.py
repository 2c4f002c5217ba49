"""Turning one raw JSONL line into the content of a training record, or a reason why it cannot be one.

Three record shapes are accepted (`distrust-method.md` §6):

* `{"messages": [{"role", "content"}, …]}` and `{"prompt": …, "completion": …}` are checked against the
  shared contract (`shared.records`: known roles, an assistant message, string fields) and kept as they are
  (never cut, so a chat or a completion is not broken mid-structure); their contents joined by a blank
  line are what is length-checked, deduplicated and scored (that joined text is cut to `max_chars` for
  scoring only).
* anything else goes through the reference's text extraction (`reference-implementation.md` §3.3): the first
  string field of `TEXT_FIELDS` longer than 50 characters, else up to 3 string fields longer than 20
  characters joined by a space. The text is stripped, must be at least `min_length` characters, and is cut
  to its first `max_chars` characters (and scored on the cut text, which is what the model will see).

Preference records (`chosen` / `rejected`) are rejected: they are not training records for this preparation.
Unlike the reference, non-string fields are never stringified (a list would become "['…']").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from shared.records import RecordError, record_shape

TEXT_FIELDS: tuple[str, ...] = (
    "text",
    "content",
    "body",
    "abstract",
    "description",
    "summary",
    "ocr_eng",
    "ocr_text",
    "article",
    "document",
    "title",
    "question",
    "answer",
    "support",
)
#: A field of TEXT_FIELDS is used when its stripped value is longer than this.
PRIMARY_FIELD_MIN_CHARS = 50
#: The fallback joins string fields longer than this ...
FALLBACK_FIELD_MIN_CHARS = 20
#: ... at most this many, in record order.
FALLBACK_MAX_FIELDS = 3
#: Rejected lines keep at most this many characters of their text in the report.
EXCERPT_CHARS = 80
#: Scalar strings longer than this are body text, not metadata (the reference copied whole abstracts).
METADATA_MAX_STRING = 256

#: Label fields that are never body text, so the fallback never joins them.
FALLBACK_EXCLUDED: frozenset[str] = frozenset({"source_type", "trivium_category", "scoring_method"})

#: Keys with a meaning in the output record: never copied into `metadata`, never used by the fallback.
RESERVED_KEYS: frozenset[str] = frozenset(
    {
        "text",
        "messages",
        "prompt",
        "completion",
        "auth_weight",
        "prov_entropy",
        "source_type",
        "trivium_category",
        "scoring_method",
        "metadata",
    }
)

ContentKind = Literal["text", "messages", "prompt_completion"]


class MalformedLine(Exception):
    """A line that cannot become a record; `code` is a stable identifier, `reason` a readable sentence."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Content:
    """What a record contributes to training."""

    kind: ContentKind
    fields: dict[str, Any]  # copied into the output record as is: text | messages | prompt + completion
    text: str  # the (cut) text that is deduplicated and scored
    used_fields: tuple[str, ...]  # raw fields the content came from; not repeated in metadata
    truncated: bool


def excerpt(line: object) -> str:
    """A short, printable start of a line for the report; the rest of the line is not kept."""
    if not isinstance(line, (bytes, str)):
        return f"<{type(line).__name__}>"
    if isinstance(line, bytes):
        line = line[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    line = line.strip()
    if len(line) <= EXCERPT_CHARS:
        return line
    return line[:EXCERPT_CHARS] + "…"


def decode_line(line: bytes | str, *, first: bool) -> str | None:
    """The line as text, or None when it is blank; a byte-order mark on the first line is dropped."""
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedLine("invalid_utf8", f"not valid UTF-8 at byte {exc.start}") from None
    elif isinstance(line, str):
        text = line
    else:
        raise MalformedLine("not_text", f"a line must be bytes or str, got {type(line).__name__}")
    if first and text.startswith("\ufeff"):
        text = text[1:]
    return text if text.strip() else None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_record(text: str) -> dict[str, Any]:  # open: the user's record
    """Parse one JSON object; NaN / Infinity are rejected (they would make the output invalid JSON)."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedLine("invalid_json", f"invalid JSON: {exc.msg} at column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        raise MalformedLine("invalid_json", f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedLine("not_an_object", f"a record must be a JSON object, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def extract_text(record: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The reference's text extraction: (stripped text, fields used); ("", ()) when nothing qualifies."""
    for field in TEXT_FIELDS:
        value = record.get(field)
        if isinstance(value, str) and len(value.strip()) > PRIMARY_FIELD_MIN_CHARS:
            return value.strip(), (field,)
    parts: list[str] = []
    used: list[str] = []
    for key, value in record.items():
        if key in FALLBACK_EXCLUDED or not isinstance(value, str):
            continue
        if len(value.strip()) > FALLBACK_FIELD_MIN_CHARS:
            parts.append(value.strip())
            used.append(key)
            if len(parts) == FALLBACK_MAX_FIELDS:
                break
    return " ".join(parts), tuple(used)


def _structured_shape(record: dict[str, Any], code: str) -> None:
    """Check a chat / completion record against the shared training-record contract (spec §6)."""
    try:
        record_shape(record)
    except RecordError as exc:
        raise MalformedLine(code, str(exc)) from None


def extract_content(record: dict[str, Any], *, min_length: int, max_chars: int) -> Content:
    """The training content of a parsed record; raises MalformedLine (no_text, too_short, invalid_…)."""
    kind: ContentKind
    fields: dict[str, Any]
    used: tuple[str, ...]
    if "messages" in record:
        _structured_shape(record, "invalid_messages")
        messages = record["messages"]
        joined = "\n\n".join(m["content"] for m in messages).strip()
        kind, fields, used = "messages", {"messages": messages}, ("messages",)
    elif "chosen" in record or "rejected" in record:
        raise MalformedLine(
            "preference_record",
            "a preference record (prompt, chosen, rejected) is not a training record for this preparation",
        )
    elif "prompt" in record and "completion" in record:
        _structured_shape(record, "invalid_prompt_completion")
        prompt, completion = record["prompt"], record["completion"]
        joined = f"{prompt}\n\n{completion}".strip()
        fields = {"prompt": prompt, "completion": completion}
        kind, used = "prompt_completion", ("prompt", "completion")
    else:
        joined, used = extract_text(record)
        if not joined:
            raise MalformedLine(
                "no_text",
                f"no text: no string field among {list(TEXT_FIELDS)} longer than {PRIMARY_FIELD_MIN_CHARS}"
                f" characters and no other string field longer than {FALLBACK_FIELD_MIN_CHARS}",
            )
        kind, fields = "text", {}
    if len(joined) < min_length:
        raise MalformedLine("too_short", f"text has {len(joined)} characters, fewer than min_length={min_length}")
    truncated = len(joined) > max_chars
    text = joined[:max_chars] if truncated else joined
    if kind == "text":
        fields = {"text": text}
    return Content(kind=kind, fields=fields, text=text, used_fields=used, truncated=truncated)


def output_metadata(record: dict[str, Any], used_fields: tuple[str, ...]) -> dict[str, Any]:
    """Scalar fields of the raw record worth keeping, plus the record's own `metadata` object (which wins).

    Skipped: reserved keys, the fields the content came from, null values and strings longer than
    METADATA_MAX_STRING characters (body text such as a second copy of the abstract).
    """
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in RESERVED_KEYS or key in used_fields:
            continue
        if isinstance(value, str) and len(value) > METADATA_MAX_STRING:
            continue
        if isinstance(value, (str, int, float, bool)):
            out[key] = value
    nested = record.get("metadata")
    if isinstance(nested, dict):
        out.update(nested)
    return out
