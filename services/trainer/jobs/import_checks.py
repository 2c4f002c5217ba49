"""The checks an import passes at creation, from the upload's first bytes: answered as a 4xx, not a failed job.

A pickle, a file that is no model, a GGUF header the worker would refuse (truncated, an unsupported
architecture or tensor type) and a file cut short (its tensor table against the upload's size) are all visible
in the head of the file; the rest (corrupt tensor data) is found by the worker.
"""

from __future__ import annotations

import tarfile
import tempfile
from collections.abc import Generator
from pathlib import Path

from services.trainer.imports.architectures import architecture_named
from services.trainer.imports.header import check_extent, check_types, read_header
from services.trainer.imports.sources import not_a_model, pickle_refused, sniff
from shared.errors import DistrustError, InvalidArgument
from shared.files.models import FileObject
from shared.storage import Bucket, ObjectStore

HEAD_BYTES = 64 << 20  # past any GGUF header (its tokenizer is the bulk: a few MB for a 150k vocabulary)
_TAR_MAGIC_AT = 257  # POSIX tar's "ustar" marker


def check_upload_head(objects: ObjectStore, upload: FileObject) -> None:
    """Refuse the upload when its head already shows the worker would; the error names the uploaded file."""
    with tempfile.TemporaryDirectory(prefix="import-head-") as scratch:
        path = Path(scratch) / "head"
        written = 0
        chunks = objects.iter_chunks(Bucket.FILES, upload.storage_key)
        try:
            with path.open("wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    written += len(chunk)
                    if written >= HEAD_BYTES:
                        break
        finally:
            if isinstance(chunks, Generator):
                chunks.close()  # releases the connection of a read stopped early
        try:
            _check(path, upload, complete=written >= upload.bytes)
        except DistrustError as exc:
            raise type(exc)(exc.message.replace(str(path), upload.filename), param=exc.param, code=exc.code) from exc


def _check(path: Path, upload: FileObject, *, complete: bool) -> None:
    with path.open("rb") as stream:
        head = stream.read(_TAR_MAGIC_AT + 5)
    kind = sniff(head)
    if kind == "pickle":
        raise pickle_refused(upload.filename)
    if kind == "other":
        if head[_TAR_MAGIC_AT:] == b"ustar" or (complete and tarfile.is_tarfile(path)):
            return
        raise not_a_model(upload.filename, head)
    try:
        header = read_header(path)
    except InvalidArgument as exc:
        if not complete and "runs past the end of the file" in exc.message:
            return  # the header goes on past the head we read: the worker reads all of it
        raise
    architecture_named(header.architecture, path)
    check_types(header, path)
    check_extent(header, path, upload.bytes)
