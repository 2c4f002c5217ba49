"""Files use cases: upload (validated while streaming), list, get, read, delete, and files written by services."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from shared.errors import Cancelled, InvalidArgument, NotFound, PayloadTooLarge, QuotaExceeded, invalid_field
from shared.files.models import UPLOADABLE_PURPOSES, FileObject, Purpose, new_file_id
from shared.files.repository import FileRepository
from shared.files.validation import LineValidator
from shared.storage import Bucket, ObjectInfo, ObjectStore
from shared.storage_errors import StreamAborted

logger = logging.getLogger(__name__)

MAX_FILENAME = 255


class _GuardedReader:
    """The upload stream as seen by storage: enforces the size limit and validates lines on the way."""

    def __init__(self, stream: BinaryIO, validator: LineValidator, max_bytes: int) -> None:
        self.stream = stream
        self.validator = validator
        self.max_bytes = max_bytes
        self.size = 0
        self.reason: str | None = None

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.size += len(data)
        if self.size > self.max_bytes:
            self.reason = "too_large"
            raise StreamAborted
        self.validator.feed(data)
        if self.validator.full:
            self.reason = "invalid"
            raise StreamAborted
        return data


@dataclass(frozen=True)
class FilePage:
    """One page of an owner's files, newest first, and whether more follow."""

    data: list[FileObject]
    has_more: bool


class FileService:
    """The files API: uploads checked for their purpose and stored in object storage, metadata in Redis."""

    def __init__(
        self, store: ObjectStore, repository: FileRepository, *, max_bytes: int, max_model_bytes: int | None = None
    ) -> None:
        self.store = store
        self.repository = repository
        self.max_bytes = max_bytes
        # Model files (purpose "model") are gigabytes where datasets are megabytes: their own limit.
        self.max_model_bytes = max_model_bytes or max_bytes

    def upload(
        self,
        *,
        owner: str,
        filename: str,
        purpose: str,
        stream: BinaryIO,
        quota: int | None = None,
        still_wanted: Callable[[], bool] = lambda: True,
    ) -> FileObject:
        """Stream an upload to storage, validating it; an invalid or oversize upload leaves nothing stored.

        `quota`: the bytes the owner may still store (None: no limit beyond the upload size limit).
        `still_wanted`: asked once the bytes are stored; False (the client left meanwhile) discards them.
        """
        kind = parse_purpose(purpose, uploadable=True)
        filename = _clean_filename(filename)
        validator = LineValidator.for_purpose(kind)
        limit, setting = (
            (self.max_model_bytes, "DISTRUST_GATEWAY_MAX_MODEL_UPLOAD_BYTES")
            if kind == Purpose.MODEL
            else (self.max_bytes, "DISTRUST_GATEWAY_MAX_UPLOAD_BYTES")
        )
        reader = _GuardedReader(stream, validator, limit if quota is None else min(limit, quota))
        file_id = new_file_id()
        try:
            info = self.store.put_stream(Bucket.FILES, file_id, reader, content_type=_content_type(filename))
            validator.finish()
        except StreamAborted:
            self._discard(file_id)
            if reader.reason == "too_large" and quota is not None and quota < limit:
                raise QuotaExceeded(
                    f"file: the upload is larger than the {quota} bytes of storage its owner has left "
                    f"(the key's stored_bytes limit); delete files to upload more",
                    param="file",
                ) from None
            if reader.reason == "too_large":
                raise PayloadTooLarge(
                    f"file: upload exceeds the {limit}-byte limit ({setting})",
                    param="file",
                ) from None
        except BaseException:
            self._discard(file_id)
            raise
        if validator.error_count:
            self._discard(file_id)
            raise InvalidArgument(
                f"file: invalid {kind.value} JSONL, nothing was stored: {validator.summary()}",
                param="file",
                code="invalid_file",
            )
        if not still_wanted():
            self._discard(file_id)
            raise Cancelled("file: the client left before the upload was stored; nothing was kept", param="file")
        lines = validator.lines if validator.enabled else None
        record = self._save(file_id, info, owner=owner, filename=filename, purpose=kind, lines=lines)
        logger.info("file stored", extra={"file_id": file_id, "bytes": info.size, "purpose": kind.value})
        return record

    def create_from_path(self, *, owner: str, filename: str, purpose: Purpose, path: Path) -> FileObject:
        """Store a file the services produced (prepared datasets, reports); no upload validation."""
        file_id = new_file_id()
        info = self.store.put_file(Bucket.FILES, file_id, path, content_type=_content_type(filename))
        lines = _count_lines(path) if filename.endswith((".jsonl", ".txt")) else None
        return self._save(file_id, info, owner=owner, filename=filename, purpose=purpose, lines=lines)

    def get(self, *, owner: str, file_id: str) -> FileObject:
        record = self.repository.get(file_id) if file_id.startswith("file-") else None
        if record is None or record.owner != owner:
            raise NotFound(f"No such File object: {file_id}", param="file_id", code="file_not_found")
        return record

    def list(
        self, *, owner: str, purpose: str | None = None, limit: int = 100, after: str | None = None, order: str = "desc"
    ) -> FilePage:
        if not 1 <= limit <= 10_000:
            raise invalid_field("limit", limit, "an integer in [1, 10000]")
        if order not in ("asc", "desc"):
            raise invalid_field("order", order, '"asc" or "desc"')
        kind = parse_purpose(purpose, uploadable=False) if purpose else None
        ids = self.repository.list_ids(owner, newest_first=order == "desc")
        if after:
            if after not in ids:
                raise NotFound(f"after: no such File object: {after}", param="after", code="file_not_found")
            ids = ids[ids.index(after) + 1 :]
        page: list[FileObject] = []
        for start in range(0, len(ids), 500):
            for record in self.repository.get_many(ids[start : start + 500]):
                if kind is None or record.purpose == kind:
                    page.append(record)
                    if len(page) > limit:
                        return FilePage(page[:limit], True)
        return FilePage(page, False)

    def iter_content(self, *, owner: str, file_id: str) -> tuple[FileObject, Iterator[bytes]]:
        record = self.get(owner=owner, file_id=file_id)
        return record, self.store.iter_chunks(Bucket.FILES, record.storage_key, expected_sha256=record.sha256)

    def delete(self, *, owner: str, file_id: str) -> FileObject:
        record = self.get(owner=owner, file_id=file_id)
        self.store.delete(Bucket.FILES, record.storage_key)
        self.repository.delete(record)
        logger.info("file deleted", extra={"file_id": file_id})
        return record

    def _save(
        self, file_id: str, info: ObjectInfo, *, owner: str, filename: str, purpose: Purpose, lines: int | None
    ) -> FileObject:
        """Record the metadata of a file whose content is stored."""
        record = FileObject(
            id=file_id,
            bytes=info.size,
            created_at=int(time.time()),
            filename=filename,
            purpose=purpose,
            owner=owner,
            sha256=info.sha256 or "",
            lines=lines,
        )
        self.repository.save(record)
        return record

    def _discard(self, file_id: str) -> None:
        try:
            self.store.delete(Bucket.FILES, file_id)
        except Exception:
            logger.warning("could not remove a rejected upload", extra={"file_id": file_id}, exc_info=True)


def parse_purpose(value: str, *, uploadable: bool) -> Purpose:
    """The Purpose `value` names; InvalidArgument naming the allowed values otherwise."""
    allowed = UPLOADABLE_PURPOSES if uploadable else tuple(Purpose)
    try:
        purpose = Purpose(value)
    except ValueError:
        purpose = None
    if purpose not in allowed:
        raise invalid_field("purpose", value, "one of " + ", ".join(p.value for p in allowed))
    return purpose


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def _clean_filename(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        raise invalid_field("file", name, "a file part with a file name")
    if len(name) > MAX_FILENAME:
        raise invalid_field("file", name, f"a file name of at most {MAX_FILENAME} characters")
    if _UNPRINTABLE.search(name):
        raise invalid_field("file", name, "a file name without control characters or lone surrogates")
    return name


def _content_type(filename: str) -> str:
    if filename.endswith(".jsonl"):
        return "application/jsonl"
    if filename.endswith(".json"):
        return "application/json"
    return "application/octet-stream"


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)
