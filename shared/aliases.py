"""Model aliases: a stable per-owner name (`ft:alias:NAME`) that points at one model and moves atomically.

A bot calls its alias; a job that succeeds (or a person) moves it to a newer model, and every move is kept in the
alias's history, so a bad model is rolled back in one call. Records and history live in Redis; what a target may
be (a model the owner can use, never another alias) is the model registry's to say.
"""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Callable
from typing import Literal, cast

import redis
from pydantic import BaseModel, Field

from shared.errors import FailedPrecondition, NotFound, invalid_field
from shared.redis_store import KEY_PREFIX, redis_errors

PREFIX = "ft:alias:"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HISTORY_KEPT = 100

ChangeReason = Literal["set", "job", "rollback"]


class AliasChange(BaseModel):
    """One move of an alias: where it pointed after it and before it, when, and why."""

    model: str
    previous: str | None = None
    at: int = Field(default_factory=lambda: int(time.time()))
    reason: ChangeReason = "set"
    job_id: str | None = None  # the fine-tuning job whose success moved it


class AliasRecord(BaseModel):
    """An owner's alias and the model it points at now."""

    name: str
    owner: str
    model: str
    created_at: int = Field(default_factory=lambda: int(time.time()))
    updated_at: int = Field(default_factory=lambda: int(time.time()))

    @property
    def id(self) -> str:
        """The name to pass as `model`."""
        return PREFIX + self.name


def alias_name(value: str, param: str = "alias") -> str:
    """The NAME of `value` (`NAME` or `ft:alias:NAME`), refused unless it is a valid alias name."""
    name = value.removeprefix(PREFIX)
    if not NAME.match(name):
        raise invalid_field(param, value, f"an alias name ({PREFIX}NAME; NAME: 1-64 letters, digits, '.', '_', '-')")
    return name


def is_alias(model: str) -> bool:
    """Whether a model name is an alias (`ft:alias:…`)."""
    return model.startswith(PREFIX)


class AliasStore:
    """One owner's aliases by name, each with its newest-first history of moves."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def _key(self, owner: str) -> str:
        return f"{KEY_PREFIX}aliases:{owner}"

    def _history_key(self, owner: str, name: str) -> str:
        return f"{KEY_PREFIX}aliases:{owner}:{name}:history"

    def get(self, owner: str, name: str) -> AliasRecord | None:
        with redis_errors("reading an alias"):
            raw = self.redis.hget(self._key(owner), name)
        return AliasRecord.model_validate_json(raw) if raw else None

    def require(self, owner: str, name: str, param: str = "alias") -> AliasRecord:
        record = self.get(owner, name)
        if record is None:
            raise NotFound(f"{param}: no alias named {PREFIX}{name}", param=param, code="alias_not_found")
        return record

    def list(self, owner: str) -> list[AliasRecord]:
        with redis_errors("listing aliases"):
            raws = self.redis.hvals(self._key(owner))
        return sorted((AliasRecord.model_validate_json(r) for r in raws), key=lambda a: a.name)

    def history(self, owner: str, name: str, limit: int = 20) -> builtins.list[AliasChange]:
        with redis_errors("reading an alias's history"):
            raws = self.redis.lrange(self._history_key(owner, name), 0, limit - 1)
        return [AliasChange.model_validate_json(r) for r in raws]

    def move(
        self,
        owner: str,
        name: str,
        model: str,
        *,
        reason: ChangeReason = "set",
        job_id: str | None = None,
        unless: Callable[[AliasRecord | None], str | None] | None = None,
    ) -> AliasRecord:
        """Point `name` at `model` (creating it), recording the change; atomic against concurrent moves.

        `unless(current)` may return a reason not to move (checked under the same transaction): FailedPrecondition.
        """
        key = self._key(owner)
        with redis_errors("moving an alias"), self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.watch unannotated
                    raw = cast("str | None", pipe.hget(key, name))
                    current = AliasRecord.model_validate_json(raw) if raw else None
                    refusal = unless(current) if unless is not None else None
                    if refusal is not None:
                        raise FailedPrecondition(refusal, param="alias", code="alias_not_moved")
                    now = int(time.time())
                    record = AliasRecord(
                        name=name,
                        owner=owner,
                        model=model,
                        created_at=current.created_at if current else now,
                        updated_at=now,
                    )
                    change = AliasChange(
                        model=model, previous=current.model if current else None, at=now, reason=reason, job_id=job_id
                    )
                    pipe.multi()
                    pipe.hset(key, name, record.model_dump_json())
                    pipe.lpush(self._history_key(owner, name), change.model_dump_json())
                    pipe.ltrim(self._history_key(owner, name), 0, HISTORY_KEPT - 1)
                    pipe.execute()
                    return record
                except redis.WatchError:
                    continue

    def delete(self, owner: str, name: str) -> None:
        self.require(owner, name)
        with redis_errors("deleting an alias"):
            pipe = self.redis.pipeline()
            pipe.hdel(self._key(owner), name)
            pipe.delete(self._history_key(owner, name))
            pipe.execute()
