"""The local stack's data folder: generated secrets, the state file of a running stack, logs, data."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

Phase = Literal["starting", "ready", "failed"]


@dataclass(frozen=True)
class Secrets:
    """The stack's generated credentials (kept in the data folder, mode 0600)."""

    api_key: str
    storage_access_key: str
    storage_secret_key: str
    redis_password: str
    key_secret: str = ""  # keys managed over /v1/api_keys are stored keyed with it; filled in on first load


class ComponentState(BaseModel):
    """One process the supervisor started."""

    pid: int | None
    port: int | None
    log: str


class StackState(BaseModel):
    """The state file of a running stack, written by its supervisor."""

    phase: Phase
    error: str | None = None
    supervisor_pid: int
    pgid: int
    gateway_url: str
    started_at: int
    components: dict[str, ComponentState] = Field(default_factory=dict)


class DataDir:
    """The local stack's data folder and the files in it."""

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
            path.chmod(0o700)  # keys, the database and every object: the user's only

    def secrets(self) -> Secrets:
        """Load the stack's secrets, generating them on first start (file mode 0600)."""
        if self.secrets_file.exists():
            made = Secrets(**json.loads(self.secrets_file.read_text()))
            if made.key_secret:
                return made
            made = replace(made, key_secret=secrets.token_urlsafe(32))  # a data folder from before managed keys
        else:
            self.ensure()
            made = Secrets(
                api_key="sk-distrust-" + secrets.token_urlsafe(24),
                storage_access_key="distrust-" + secrets.token_hex(6),
                storage_secret_key=secrets.token_urlsafe(30),
                redis_password=secrets.token_urlsafe(24),
                key_secret=secrets.token_urlsafe(32),
            )
        tmp = self.secrets_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(made), fh, indent=2)
        tmp.replace(self.secrets_file)
        return made

    def read_state(self) -> StackState | None:
        """The state of the stack last started from this folder, if any."""
        try:
            return StackState.model_validate_json(self.state_file.read_text())
        except (OSError, ValidationError):
            return None

    def write_state(self, state: StackState) -> None:
        """Replace the state file atomically."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(state.model_dump_json(indent=2))
        tmp.replace(self.state_file)

    def clear_state(self) -> None:
        self.state_file.unlink(missing_ok=True)


def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id runs (a zombie does not)."""
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
