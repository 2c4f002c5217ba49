"""Stored file sets (a model, an adapter) packed into a .tar.gz that users take home."""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

from shared.storage import Bucket, ObjectStore


def pack_tar_gz(store: ObjectStore, bucket: Bucket, prefix: str, files: dict[str, str], *, root: str) -> Path:
    """Write the files under `prefix` into a temporary .tar.gz (a folder `root/` inside); the caller deletes it."""
    handle = tempfile.NamedTemporaryFile(prefix="distrust-", suffix=".tar.gz", delete=False)  # noqa: SIM115
    with handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
        for name, sha in sorted(files.items()):
            with tempfile.TemporaryFile() as blob:
                for chunk in store.iter_chunks(bucket, f"{prefix}/{name}", expected_sha256=sha or None):
                    blob.write(chunk)
                info = tarfile.TarInfo(f"{root}/{name}")
                info.size = blob.tell()
                blob.seek(0)
                tar.addfile(info, blob)
    return Path(handle.name)


def unpack_tar_gz(data: io.BufferedIOBase | Path, target: Path) -> list[Path]:
    """Extract an archive made by `pack_tar_gz` into `target` (flattening its root folder), safely."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(
        data if isinstance(data, Path) else None, mode="r:gz", fileobj=None if isinstance(data, Path) else data
    ) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            name = Path(member.name).name
            source = tar.extractfile(member)
            if source is None or name in ("", ".", ".."):
                continue
            with (target / name).open("wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            written.append(target / name)
    return written
