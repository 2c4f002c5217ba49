"""Bot profiles: which base model a bot starts from, its training data stream, its alias and its retrain policy.

Records live in Redis per owner; each data file added and each job started is appended, so the profile knows
which examples are new since the last job that succeeded.
"""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Callable
from typing import cast

import redis
from pydantic import BaseModel, Field

from services.gateway.bots.conversations import ConversationRules
from shared.errors import NotFound, invalid_field
from shared.redis_store import KEY_PREFIX, redis_errors
from shared.schemas.alias_gate import AliasGate
from shared.schemas.fine_tuning import Hyperparameters
from shared.schemas.request import RequestModel

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
DEFAULT_PROFILE = "default"


class TrainingPolicy(RequestModel):
    """When `should-train` says yes (any reason is enough; a running job of the profile always says no).

    Enough new examples; new examples and the last job long enough ago; or new examples the served model finds
    harder than its own training data (loss drift).
    """

    min_new_examples: int = Field(default=50, ge=1, le=10_000_000)
    max_hours_between_jobs: float | None = Field(
        default=None, gt=0, le=24 * 365, description="With any new example, train once the last job is this old"
    )
    max_loss_drift: float | None = Field(
        default=None,
        gt=0,
        le=100,
        description="Train when the served model's loss on new examples exceeds its last job's final loss by this",
    )


class ProfileSettings(RequestModel):
    """What a bot owner sets: the base model, the alias moved on success, its jobs' settings and the policy."""

    base_model: str = Field(default="SmolLM2-135M-Instruct", min_length=1, max_length=256)
    alias: str | None = Field(default=None, description="The alias NAME moved on success (default: the profile's)")
    hyperparameters: Hyperparameters = Field(
        default_factory=lambda: Hyperparameters(n_epochs=1), description="The profile's jobs' (one epoch by default)"
    )
    policy: TrainingPolicy = Field(default_factory=TrainingPolicy)
    conversation_rules: ConversationRules = Field(default_factory=ConversationRules)
    alias_gate: AliasGate | None = Field(default=None, description="Move the alias only if the new model is no worse")


class DataFile(BaseModel):
    """One file of the profile's data stream."""

    file_id: str
    examples: int
    added_at: int = Field(default_factory=lambda: int(time.time()))
    source: str | None = None  # for an import: the export file it came from


class ProfileJob(BaseModel):
    """A job the profile started and how many of its data files it covered."""

    job_id: str
    files_upto: int
    created_at: int = Field(default_factory=lambda: int(time.time()))


class BotProfile(ProfileSettings):
    """A bot profile: its settings, its data stream and the jobs it started (newest last)."""

    model_config = ProfileSettings.model_config | {"extra": "ignore", "strict": False}

    name: str
    alias: str
    created_at: int = Field(default_factory=lambda: int(time.time()))
    files: list[DataFile] = Field(default_factory=list)
    jobs: list[ProfileJob] = Field(default_factory=list)


def profile_name(value: str) -> str:
    """`value` if it is a valid profile name, else a 400 naming `profile`."""
    if not NAME.match(value):
        raise invalid_field("profile", value, "a profile name (1-64 letters, digits, '.', '_', '-')")
    return value


class ProfileStore:
    """An owner's bot profiles by name."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def _key(self, owner: str) -> str:
        return f"{KEY_PREFIX}bots:{owner}"

    def get(self, owner: str, name: str) -> BotProfile:
        with redis_errors("reading a bot profile"):
            raw = self.redis.hget(self._key(owner), profile_name(name))
        if raw is None:
            raise NotFound(f"profile: no bot profile named {name!r}", param="profile", code="profile_not_found")
        return BotProfile.model_validate_json(raw)

    def list(self, owner: str) -> builtins.list[BotProfile]:
        with redis_errors("listing bot profiles"):
            raws = self.redis.hvals(self._key(owner))
        return sorted((BotProfile.model_validate_json(r) for r in raws), key=lambda p: p.name)

    def put(self, owner: str, name: str, settings: ProfileSettings, alias: str) -> BotProfile:
        """Create the profile or replace its settings (its data stream and jobs stay)."""

        def apply(current: BotProfile | None) -> BotProfile:
            kept = current.model_dump() if current is not None else {"name": name}
            return BotProfile.model_validate(kept | settings.model_dump() | {"alias": alias})

        return self._update(owner, profile_name(name), apply)

    def unseen(self, owner: str, name: str, fingerprints: builtins.list[str]) -> builtins.list[bool]:
        """For each fingerprint, whether no earlier import of the profile had it."""
        key = f"{self._key(owner)}:{name}:seen"
        with redis_errors("reading a profile's imported conversations"):
            pipe = self.redis.pipeline()
            for value in fingerprints:
                pipe.sismember(key, value)
            return [not hit for hit in pipe.execute()]

    def remember(self, owner: str, name: str, fingerprints: builtins.list[str]) -> None:
        if fingerprints:
            with redis_errors("recording a profile's imported conversations"):
                self.redis.sadd(f"{self._key(owner)}:{name}:seen", *fingerprints)

    def update(self, owner: str, name: str, mutate: Callable[[BotProfile], None]) -> BotProfile:
        """Change an existing profile under WATCH (concurrent adds and jobs never lose each other's change)."""

        def apply(current: BotProfile | None) -> BotProfile:
            if current is None:
                raise NotFound(f"profile: no bot profile named {name!r}", param="profile", code="profile_not_found")
            mutate(current)
            return current

        return self._update(owner, profile_name(name), apply)

    def _update(self, owner: str, name: str, apply: Callable[[BotProfile | None], BotProfile]) -> BotProfile:
        key = self._key(owner)
        with redis_errors("updating a bot profile"), self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.watch unannotated
                    raw = cast("str | None", pipe.hget(key, name))
                    profile = apply(BotProfile.model_validate_json(raw) if raw else None)
                    pipe.multi()
                    pipe.hset(key, name, profile.model_dump_json())
                    pipe.execute()
                    return profile
                except redis.WatchError:
                    continue
