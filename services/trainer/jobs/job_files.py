"""The files a job reads: checked when the job is created (so a bad line never reaches a worker), fetched on a worker."""

from __future__ import annotations

from pathlib import Path

from shared.errors import InvalidArgument, invalid_field
from shared.files import FileObject, FileService, Purpose
from shared.records import RecordError, parse_json_object, validate_training_record
from shared.storage import Bucket, ObjectStore

MAX_REPORTED = 5


def owned_file(files: FileService, field: str, file_id: str, owner: str, purpose: Purpose) -> FileObject:
    """The owner's file `file_id` of `purpose`, or InvalidArgument naming `field`."""
    try:
        record = files.get(owner=owner, file_id=file_id)
    except Exception as exc:
        raise invalid_field(field, file_id, "the id of one of your files") from exc
    if record.purpose != purpose:
        raise invalid_field(field, file_id, f'a file with purpose "{purpose.value}" (this one is "{record.purpose}")')
    return record


def check_training_file(
    files: FileService, field: str, file_id: str, owner: str, *, require_scores: bool, preference: bool = False
) -> None:
    """Every line a valid training record (spec §6) of the job's kind (a preference pair for DPO), at least one.

    Errors list the first bad lines.
    """
    record = owned_file(files, field, file_id, owner, Purpose.FINE_TUNE)
    errors: list[str] = []
    examples = 0
    for number, line in enumerate(files.store.iter_lines(Bucket.FILES, record.storage_key), start=1):
        if not line.strip():
            continue
        try:
            validate_training_record(parse_json_object(line), require_scores=require_scores, preference=preference)
            examples += 1
        except RecordError as exc:
            errors.append(f"line {number}: {exc}")
            if len(errors) >= MAX_REPORTED:
                break
    if errors:
        raise InvalidArgument(
            f"{field} {file_id} cannot be used: " + "; ".join(errors), param=field, code="invalid_training_file"
        )
    if examples == 0:
        raise invalid_field(field, file_id, "a file with at least one training example")


def download_file(files: FileService, objects: ObjectStore, owner: str, file_id: str, target: Path) -> Path:
    """The file's bytes at `target`, checked against the SHA-256 recorded at upload."""
    record = files.get(owner=owner, file_id=file_id)
    return objects.download_file(Bucket.FILES, record.storage_key, target, expected_sha256=record.sha256)
