"""Object storage failures as `DistrustError`s that say what was being done; a stream may abort an upload."""

from __future__ import annotations

from typing import Literal

import urllib3
from minio.error import InvalidResponseError, S3Error, ServerError

from shared.errors import DistrustError, InternalError, NotFound, Unavailable

_AUTH_CODES = {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken"}


class StreamAborted(Exception):
    """Raised by a stream being uploaded to stop the upload; storage passes it through untranslated."""


class translated:
    """Context manager turning SDK and connection errors into `DistrustError`s that say what was being done."""

    def __init__(self, doing: str) -> None:
        self.doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> Literal[False]:
        if exc is None or isinstance(exc, DistrustError | StreamAborted) or not isinstance(exc, Exception):
            return False
        raise _translate(exc, self.doing) from exc


def _translate(exc: Exception, doing: str) -> DistrustError:
    if isinstance(exc, S3Error):
        if exc.code in {"NoSuchKey", "NoSuchBucket", "NoSuchObject"}:
            return NotFound(f"object not found while {doing}", code="object_not_found")
        if exc.code in _AUTH_CODES:
            return Unavailable(
                f"object storage rejected the credentials ({exc.code}) while {doing}", code="storage_auth_failed"
            )
        return Unavailable(f"object storage error {exc.code} while {doing}: {exc.message}", code="storage_error")
    if isinstance(exc, InvalidResponseError | ServerError):
        text = str(exc)
        if any(code in text for code in _AUTH_CODES) or "Response code: 403" in text:
            return Unavailable(f"object storage rejected the credentials while {doing}", code="storage_auth_failed")
        if "NoSuchKey" in text or "Response code: 404" in text:
            return NotFound(f"object not found while {doing}", code="object_not_found")
        return Unavailable(f"object storage error while {doing}: {text[:200]}", code="storage_error")
    if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
        return Unavailable(f"object storage unreachable while {doing}: {exc}", code="storage_unreachable")
    return InternalError(f"unexpected storage failure while {doing}: {exc!r}")
