"""Streaming the raw inputs line by line into candidate records (content + source type), rejecting bad lines.

Lines are consumed one at a time from each input's iterable; only accepted records are held (they are needed
for dedup, rebalancing and the shuffle). A rejected line keeps nothing but a short excerpt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidArgument, invalid_field
from shared.schemas.preparation_report import InputReport, RejectedLine, SourceTypeOrigin

from .extract import Content, MalformedLine, decode_line, excerpt, extract_content, parse_record
from .labelling import provided_scores
from .options import PrepareOptions
from .rejections import RejectionLog
from .sources import KNOWN_SOURCE_TYPES, record_source_type, source_type_for_filename

#: A "reading" progress event is emitted every this many lines (and at the start and end of each input).
READ_PROGRESS_EVERY = 10_000


@dataclass(frozen=True)
class RawInput:
    """One raw JSONL input.

    * `name`: the original file name: drives the filename → source-type mapping and names the input in the
      report and in errors.
    * `lines`: the raw lines (bytes or str, with or without the newline), consumed once, in order.
    * `source_type`: an explicit source type for every record of this input (one of KNOWN_SOURCE_TYPES);
      overrides the filename mapping and the records' own `source_type` fields.
    """

    name: str
    lines: Iterable[bytes | str]
    source_type: str | None = None


@dataclass(slots=True)
class Candidate:
    """An accepted line, before scoring. `record` (the parsed raw object) is dropped once scored."""

    input_index: int
    line: int
    content: Content
    source_type: str | None
    record: dict[str, Any]
    provided: tuple[float, float] | None  # existing scores kept with keep_existing_scores


def validate_inputs(inputs: object) -> None:
    """Reject an empty input list, non-RawInput items, empty names and unknown explicit source types."""
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise invalid_field("inputs", inputs, "a list of RawInput")
    if not inputs:
        raise InvalidArgument("inputs: got an empty list, expected at least one input", param="inputs")
    for i, raw in enumerate(inputs):
        if not isinstance(raw, RawInput):
            raise invalid_field(f"inputs[{i}]", raw, "a RawInput")
        if not isinstance(raw.name, str) or not raw.name.strip():
            raise invalid_field(f"inputs[{i}].name", raw.name, "a non-empty file name")
        if raw.source_type is not None and raw.source_type not in KNOWN_SOURCE_TYPES:
            raise invalid_field(
                f"inputs[{i}].source_type", raw.source_type, f"null or one of {list(KNOWN_SOURCE_TYPES)}"
            )


def input_source_type(raw: RawInput) -> tuple[str | None, SourceTypeOrigin]:
    """The input-level source type: the explicit one, else the filename mapping, else none."""
    if raw.source_type is not None:
        return raw.source_type, "explicit"
    mapped = source_type_for_filename(raw.name)
    if mapped is not None:
        return mapped, "filename"
    return None, "none"


def _candidate(
    line: bytes | str,
    *,
    first: bool,
    index: int,
    number: int,
    source_type: str | None,
    options: PrepareOptions,
) -> Candidate | None:
    text = decode_line(line, first=first)
    if text is None:
        return None
    record = parse_record(text)
    content = extract_content(record, min_length=options.min_length, max_chars=options.max_chars)
    provided = provided_scores(record) if options.keep_existing_scores else None
    resolved = source_type if source_type is not None else record_source_type(record)
    return Candidate(index, number, content, resolved, record, provided)


def read_inputs(
    inputs: Sequence[RawInput],
    options: PrepareOptions,
    rejections: RejectionLog,
    emit: Callable[[int, str], None],
) -> tuple[list[Candidate], list[InputReport]]:
    """Stream every input; returns the accepted candidates in input order and one summary per input.

    `emit(lines_read_so_far, message)` reports progress. Malformed lines go to `rejections` (which raises
    in strict mode).
    """
    candidates: list[Candidate] = []
    summaries: list[InputReport] = []
    lines_read = 0
    for index, raw in enumerate(inputs):
        source_type, origin = input_source_type(raw)
        summary = InputReport(index=index, name=raw.name, source_type=source_type, source_type_origin=origin)
        summaries.append(summary)
        emit(lines_read, f"reading {raw.name} ({source_type or 'no source type'}, from {origin})")
        for number, line in enumerate(raw.lines, start=1):
            summary.lines += 1
            lines_read += 1
            try:
                candidate = _candidate(
                    line,
                    first=number == 1,
                    index=index,
                    number=number,
                    source_type=source_type,
                    options=options,
                )
            except MalformedLine as bad:
                summary.rejected += 1
                rejections.add(
                    RejectedLine(
                        file=raw.name,
                        input_index=index,
                        line=number,
                        code=bad.code,
                        reason=bad.reason,
                        excerpt=excerpt(line),
                    )
                )
                candidate = None
            else:
                if candidate is None:
                    summary.blank_lines += 1
                else:
                    summary.accepted += 1
                    candidates.append(candidate)
            if lines_read % READ_PROGRESS_EVERY == 0:
                emit(lines_read, f"reading {raw.name}: {number} lines")
        emit(lines_read, f"read {raw.name}: {summary.accepted} accepted, {summary.rejected} rejected")
    return candidates, summaries
