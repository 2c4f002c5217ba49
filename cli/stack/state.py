"""The local stack's data folder: generated secrets, the state file of a running stack, logs, data."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Secrets:
    api_key: str
    storage_access_key: str
    storage_secret_key: str
    redis_password: str


class DataDir:
    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def redis(self) -> Path:
        return self.root / "redis"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def state_file(self) -> Path:
        return self.root / "run" / "stack.json"

    @property
    def secrets_file(self) -> Path:
        return self.root / "secrets.json"

    def ensure(self) -> None:
        for path in (self.root, self.logs, self.redis, self.objects, self.state_file.parent):
            path.mkdir(parents=True, exist_ok=True)

    def secrets(self) -> Secrets:
        """Load the stack's secrets, generating them on first start (file mode 0600)."""
        if self.secrets_file.exists():
            return Secrets(**json.loads(self.secrets_file.read_text()))
        self.ensure()
        made = Secrets(
            api_key="sk-distrust-" + secrets.token_urlsafe(24),
            storage_access_key="distrust-" + secrets.token_hex(6),
            storage_secret_key=secrets.token_urlsafe(30),
            redis_password=secrets.token_urlsafe(24),
        )
        tmp = self.secrets_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(made), fh, indent=2)
        tmp.replace(self.secrets_file)
        return made

    def read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def write_state(self, state: dict[str, Any]) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    def clear_state(self) -> None:
        self.state_file.unlink(missing_ok=True)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True
