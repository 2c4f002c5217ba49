"""Archives: stored file sets (a model, an adapter) packed as a .tar.gz users take home; users' archives checked.

A user's archive is checked before anything is unpacked.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from shared.errors import InvalidArgument
from shared.storage import Bucket, ObjectStore

MAX_MEMBERS = 10_000


def checked_members(archive: tarfile.TarFile, *, max_bytes: int, file_name: str) -> list[tarfile.TarInfo]:
    """The members of a user's archive, if they are only plain files and folders inside it, within the caps.

    At most `max_bytes` unpacked (a bomb is refused from its headers, before a byte is written) and `MAX_MEMBERS`
    entries; else InvalidArgument naming the file and the entry.
    """
    members, total = [], 0
    for member in archive:
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise InvalidArgument(
                f"file {file_name}: the archive entry {member.name!r} points outside it", param="file"
            )
        if not (member.isfile() or member.isdir()):
            kind = "link" if member.issym() or member.islnk() else "device or special file"
            raise InvalidArgument(
                f"file {file_name}: the archive entry {member.name!r} is a {kind}; only files and folders are unpacked",
                param="file",
            )
        total += member.size
        members.append(member)
        if total > max_bytes or len(members) > MAX_MEMBERS:
            raise InvalidArgument(
                f"file {file_name}: the archive unpacks to more than {max_bytes} bytes or {MAX_MEMBERS} entries",
                param="file",
            )
    return members


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
