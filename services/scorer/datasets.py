"""Scoring a stored JSONL dataset into a new stored file, line by line, in constant memory."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.scorer.scoring import ScoreResult, validate_document
from services.scorer.scoring.document import score_valid
from services.scorer.scoring.profiles import Profile, get_profile
from shared.errors import InvalidArgument, invalid_field
from shared.files import FileService, Purpose
from shared.records import RecordError, parse_json_object
from shared.schemas.scoring import LineError
from shared.storage import Bucket

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 2000
MAX_REPORTED_ERRORS = 1000


@dataclass
class DatasetProgress:
    """How far a dataset is scored; the last one carries the output file and the rejected lines."""

    lines_done: int = 0
    lines_rejected: int = 0
    bytes_done: int = 0
    bytes_total: int = 0
    errors: list[LineError] = field(default_factory=list)
    output_file_id: str | None = None
    done: bool = False


def score_stored_dataset(
    files: FileService, *, owner: str, file_id: str, profile: str, text_field: str = "text"
) -> Iterator[DatasetProgress]:
    """Score each line of the owner's file; yield progress, the last event with the new file's id.

    Each output line is the input object plus `auth_weight`, `prov_entropy` and `scoring_method`. A line that
    is not a JSON object or has no string `text_field` is counted and reported, never silently dropped.
    """
    if not text_field:
        raise invalid_field("text_field", text_field, "a non-empty field name")
    scoring = get_profile(profile)
    source = files.get(owner=owner, file_id=file_id)
    progress = DatasetProgress(bytes_total=source.bytes)
    yield progress
    with tempfile.TemporaryDirectory(prefix="distrust-score-") as tmp:
        out_path = Path(tmp) / "scored.jsonl"
        with out_path.open("w", encoding="utf-8") as out:
            for line_no, line in enumerate(files.store.iter_lines(Bucket.FILES, source.storage_key), start=1):
                progress.bytes_done += len(line) + 1
                if not line.strip():
                    continue
                progress.lines_done += 1
                try:
                    out.write(_score_line(line, line_no, text_field, scoring))
                except (RecordError, InvalidArgument) as exc:
                    progress.lines_rejected += 1
                    if len(progress.errors) < MAX_REPORTED_ERRORS:
                        progress.errors.append(LineError(line=line_no, reason=getattr(exc, "message", str(exc))))
                if progress.lines_done % PROGRESS_EVERY == 0:
                    yield progress
        progress.bytes_done = progress.bytes_total
        stem = source.filename.rsplit(".", 1)[0]
        scored = files.create_from_path(
            owner=owner, filename=f"{stem}.scored.jsonl", purpose=Purpose.SCORED, path=out_path
        )
    progress.output_file_id = scored.id
    progress.done = True
    logger.info(
        "dataset scored",
        extra={
            "file_id": file_id,
            "output_file_id": scored.id,
            "lines": progress.lines_done,
            "rejected": progress.lines_rejected,
        },
    )
    yield progress


def split_record(line: bytes | str, text_field: str = "text") -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Parse a JSONL line into (record, text, metadata = every other field); RecordError says why not."""
    record = parse_json_object(line)
    text = record.get(text_field)
    if not isinstance(text, str):
        raise RecordError(f'no string "{text_field}" field')
    return record, text, {k: v for k, v in record.items() if k != text_field}


def score_one(text: str, metadata: dict[str, Any], scoring: Profile, *, index: int) -> ScoreResult:
    """Validate and score one document with batch semantics (short texts get the reference's defaults)."""
    validate_document(text, metadata, index=index)
    return score_valid(text, metadata, scoring, short_text_default=True)


def _score_line(line: bytes, line_no: int, text_field: str, scoring: Profile) -> str:
    record, text, metadata = split_record(line, text_field)
    result = score_one(text, metadata, scoring, index=line_no)
    record.update(
        auth_weight=round(result.auth_weight, 6),
        prov_entropy=round(result.prov_entropy, 6),
        scoring_method=result.scoring_method,
    )
    return json.dumps(record, ensure_ascii=False) + "\n"
