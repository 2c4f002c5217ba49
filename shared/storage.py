"""Object storage on the `minio` SDK: one bucket per kind of object, streamed transfers, SHA-256 checksums.

Large objects never sit in memory: uploads are multipart with a fixed part size, downloads are iterated in
chunks, and the SHA-256 of the content is computed on the way through.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Protocol, cast

import urllib3
from minio import Minio
from urllib3 import BaseHTTPResponse

from shared.errors import InternalError, NotFound
from shared.settings import StorageSettings
from shared.storage_errors import translated

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024
SHA256_META = "sha256"


class Bucket(StrEnum):
    """The object storage buckets, one per kind of object."""

    FILES = "files"
    DATASETS = "datasets"
    MODELS = "models"
    ADAPTERS = "adapters"
    CHECKPOINTS = "checkpoints"
    RESULTS = "results"
    VECTORS = "vectors"  # vector stores' tables (LanceDB)


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What object storage knows of one object: size, etag and, when recorded, sha256 and content type."""

    bucket: Bucket
    key: str
    size: int
    etag: str = ""
    sha256: str | None = None
    content_type: str | None = None
    last_modified: dt.datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)


class Readable(Protocol):
    """What an upload reads from: a binary stream's `read(size)`."""

    def read(self, size: int = -1, /) -> bytes: ...


class HashingReader(io.RawIOBase):
    """Wraps a readable stream, counting bytes and hashing them as they pass."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.sha256.update(data)
        self.bytes_read += len(data)
        return data


class ObjectStore:
    """Typed access to the project's buckets; every storage failure becomes a `DistrustError`."""

    def __init__(self, settings: StorageSettings) -> None:
        self.settings = settings
        timeout = urllib3.Timeout(connect=min(5.0, settings.timeout_s), read=settings.timeout_s)
        http = urllib3.PoolManager(
            timeout=timeout,
            maxsize=16,
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504]),
        )
        self.client = Minio(
            settings.endpoint,
            access_key=settings.access_key.get_secret_value() if settings.access_key else None,
            secret_key=settings.secret_key.get_secret_value() if settings.secret_key else None,
            secure=settings.secure,
            region=settings.region,
            http_client=http,
        )
        self.part_size = settings.part_size_mb * 1024 * 1024

    def bucket_name(self, bucket: Bucket) -> str:
        return f"{self.settings.bucket_prefix}{bucket.value}"

    def ensure_buckets(self) -> None:
        with translated(f"creating buckets at {self.settings.endpoint}"):
            for bucket in Bucket:
                name = self.bucket_name(bucket)
                if not self.client.bucket_exists(name):
                    self.client.make_bucket(name)
                    logger.info("created bucket", extra={"bucket": name})

    def ping(self) -> None:
        """Raise unless the server answers and accepts our credentials."""
        with translated(f"reaching object storage at {self.settings.endpoint}"):
            self.client.bucket_exists(self.bucket_name(Bucket.FILES))

    def put_stream(
        self,
        bucket: Bucket,
        key: str,
        stream: Readable,
        *,
        length: int = -1,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Upload from a readable stream in parts; memory use is one part, whatever the size."""
        reader = HashingReader(stream)
        # minio's metadata values may also be lists; a copy typed as its own.
        meta: dict[str, str | list[str] | tuple[str]] | None = dict(metadata) if metadata is not None else None
        with translated(f"uploading {bucket.value}/{key}"):
            result = self.client.put_object(
                self.bucket_name(bucket),
                key,
                cast(BinaryIO, reader),  # minio only calls read(size) on it
                length,
                content_type=content_type,
                metadata=meta,
                part_size=self.part_size,
                num_parallel_uploads=self.settings.upload_parallelism,
            )
        return ObjectInfo(
            bucket,
            key,
            reader.bytes_read,
            result.etag or "",
            reader.sha256.hexdigest(),
            content_type,
            None,
            dict(metadata or {}),
        )

    def put_bytes(
        self, bucket: Bucket, key: str, data: bytes, *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        digest = hashlib.sha256(data).hexdigest()
        with translated(f"uploading {bucket.value}/{key}"):
            result = self.client.put_object(
                self.bucket_name(bucket),
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata={SHA256_META: digest},
            )
        return ObjectInfo(bucket, key, len(data), result.etag or "", digest, content_type)

    def put_file(
        self, bucket: Bucket, key: str, path: Path, *, content_type: str = "application/octet-stream"
    ) -> ObjectInfo:
        digest = file_sha256(path)
        size = path.stat().st_size
        with path.open("rb") as fh, translated(f"uploading {bucket.value}/{key}"):
            result = self.client.put_object(
                self.bucket_name(bucket),
                key,
                fh,
                size,
                content_type=content_type,
                metadata={SHA256_META: digest},
                part_size=self.part_size,
                num_parallel_uploads=self.settings.upload_parallelism,
            )
        return ObjectInfo(bucket, key, size, result.etag or "", digest, content_type)

    def iter_chunks(
        self, bucket: Bucket, key: str, *, chunk_size: int = CHUNK, expected_sha256: str | None = None
    ) -> Iterator[bytes]:
        """The object's bytes in chunks; with `expected_sha256`, failing at the end on a mismatch.

        The object is opened now, not at the first chunk: an unreachable store fails the call (a 503 before any
        response starts), not the stream after a 200.
        """
        with translated(f"reading {bucket.value}/{key}"):
            response = self.client.get_object(self.bucket_name(bucket), key)
        return self._chunks(response, f"{bucket.value}/{key}", chunk_size, expected_sha256)

    @staticmethod
    def _chunks(response: BaseHTTPResponse, name: str, chunk_size: int, expected_sha256: str | None) -> Iterator[bytes]:
        digest = hashlib.sha256()
        try:
            with translated(f"reading {name}"):
                for chunk in response.stream(chunk_size):
                    digest.update(chunk)
                    yield chunk
        finally:
            response.close()
            response.release_conn()
        if expected_sha256 and digest.hexdigest() != expected_sha256:
            raise InternalError(
                f"checksum mismatch for {name}: stored {expected_sha256}, read {digest.hexdigest()}",
                code="checksum_mismatch",
            )

    def iter_lines(self, bucket: Bucket, key: str) -> Iterator[bytes]:
        """Yield the object's lines (without the newline), streaming."""
        pending = b""
        for chunk in self.iter_chunks(bucket, key):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            yield from lines
        if pending:
            yield pending

    def get_bytes(self, bucket: Bucket, key: str) -> bytes:
        return b"".join(self.iter_chunks(bucket, key))

    def download_file(self, bucket: Bucket, key: str, path: Path, *, expected_sha256: str | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        with tmp.open("wb") as fh:
            for chunk in self.iter_chunks(bucket, key, expected_sha256=expected_sha256):
                fh.write(chunk)
        tmp.replace(path)
        return path

    def stat(self, bucket: Bucket, key: str) -> ObjectInfo:
        with translated(f"reading {bucket.value}/{key}"):
            st = self.client.stat_object(self.bucket_name(bucket), key)
        meta = {
            k.lower().removeprefix("x-amz-meta-"): v
            for k, v in (st.metadata or {}).items()
            if k.lower().startswith("x-amz-meta-")
        }
        return ObjectInfo(
            bucket, key, st.size or 0, st.etag or "", meta.get(SHA256_META), st.content_type, st.last_modified, meta
        )

    def exists(self, bucket: Bucket, key: str) -> bool:
        try:
            self.stat(bucket, key)
        except NotFound:
            return False
        return True

    def list(self, bucket: Bucket, prefix: str = "") -> Iterator[ObjectInfo]:
        with translated(f"listing {bucket.value}/{prefix}"):
            for obj in self.client.list_objects(self.bucket_name(bucket), prefix=prefix, recursive=True):
                yield ObjectInfo(
                    bucket, obj.object_name or "", obj.size or 0, obj.etag or "", last_modified=obj.last_modified
                )

    def delete(self, bucket: Bucket, key: str) -> None:
        with translated(f"deleting {bucket.value}/{key}"):
            self.client.remove_object(self.bucket_name(bucket), key)

    def delete_prefix(self, bucket: Bucket, prefix: str) -> int:
        keys = [info.key for info in self.list(bucket, prefix)]
        for key in keys:
            self.delete(bucket, key)
        return len(keys)

    def presigned_get_url(self, bucket: Bucket, key: str, *, expires_s: int = 3600) -> str:
        with translated(f"signing {bucket.value}/{key}"):
            return self.client.presigned_get_object(
                self.bucket_name(bucket), key, expires=dt.timedelta(seconds=expires_s)
            )


def file_sha256(path: Path) -> str:
    """The sha256 hex digest of the file at `path`, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
