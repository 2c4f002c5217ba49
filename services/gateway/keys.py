"""Managed API keys: created with scopes, stored only as a keyed hash, listed, revoked on every replica at once.

A key's secret is shown once, at creation. Redis holds HMAC-SHA256(deployment secret, key) → the key's id, and
the record (owner, name, scopes, times, a redacted value), so a copy of Redis alone authenticates nobody.
Every replica looks keys up in Redis, caching a hit for at most `CACHE_S`: a revoked key stops working
everywhere within that time. Keys in `DISTRUST_GATEWAY_API_KEYS` bootstrap the deployment with every scope.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

import redis
from pydantic import BaseModel

from services.gateway.limits import Limits
from services.gateway.schemas.keys import SCOPES, ApiKey, CreateApiKey, CreatedApiKey, Scope
from shared.errors import FailedPrecondition, NotFound

PREFIX = "sk-dt-"
CACHE_S = 0.5
LAST_USED_EVERY_S = 60  # last_used_at is written at most this often per key


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the owner, the key's id ("env" for a bootstrap key), and what it may do."""

    owner: str
    key_id: str
    scopes: frozenset[Scope]
    limits: Limits = Limits()


class _Record(BaseModel):
    key: ApiKey
    digest: str


class KeyStore:
    """The deployment's managed keys in Redis, plus the bootstrap keys from the environment."""

    def __init__(
        self, client: redis.Redis, secret: str | None, bootstrap: dict[str, str], defaults: Limits = Limits()
    ) -> None:
        self.redis = client
        self.defaults = defaults
        self._secret = secret.encode() if secret else None
        self._bootstrap = [(key.encode(), owner) for key, owner in bootstrap.items()]
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def authenticate(self, key: str) -> Principal | None:
        """The key's principal, or None for an unknown or revoked key."""
        candidate = key.encode()
        owner = None
        for known, who in self._bootstrap:  # compare with every key, in constant time each
            if hmac.compare_digest(known, candidate):
                owner = who
        if owner is not None:
            return Principal(owner=owner, key_id="env", scopes=frozenset(SCOPES), limits=self.defaults)
        if self._secret is None or not key.startswith(PREFIX):
            return None
        digest = self._digest(key)
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            principal = self._lookup(digest)
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (now + CACHE_S, principal)
        if principal is not None:
            self._touch(principal.key_id)
        return principal

    def create(self, owner: str, body: CreateApiKey) -> CreatedApiKey:
        """A new key for `owner` (or the body's owner); its secret is in the answer and nowhere else."""
        if self._secret is None:
            raise FailedPrecondition(
                "Managed API keys need a deployment secret: set DISTRUST_GATEWAY_KEY_SECRET", code="keys_disabled"
            )
        value = PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id="key_" + secrets.token_hex(12),
            name=body.name,
            owner=body.owner or owner,
            scopes=sorted(set(body.scopes)),
            created_at=int(time.time()),
            redacted_value=f"{value[: len(PREFIX) + 2]}…{value[-4:]}",
            limits=body.limits,
        )
        record = _Record(key=key, digest=self._digest(value))
        pipe = self.redis.pipeline()
        pipe.set(_record_key(key.id), record.model_dump_json())
        pipe.set(_digest_key(record.digest), key.id)
        pipe.zadd("apikeys:all", {key.id: key.created_at})
        pipe.execute()
        return CreatedApiKey(**key.model_dump(), value=value)

    def list(self, owner: str | None) -> list[ApiKey]:
        """The managed keys, newest first; only `owner`'s when given."""
        ids = [str(i) for i in self.redis.zrevrange("apikeys:all", 0, -1)]
        keys = [self._get(i) for i in ids]
        return [k for k in keys if k is not None and (owner is None or k.owner == owner)]

    def revoke(self, key_id: str, owner: str | None) -> ApiKey:
        """Delete the key (only `owner`'s when given); every replica refuses it within CACHE_S."""
        raw = self.redis.get(_record_key(key_id)) if len(key_id) <= 64 else None
        record = _Record.model_validate_json(raw) if raw else None
        if record is None or (owner is not None and record.key.owner != owner):
            raise NotFound(f"No API key {key_id!r}", param="key_id", code="key_not_found")
        pipe = self.redis.pipeline()
        pipe.delete(_record_key(key_id), _digest_key(record.digest), _used_key(key_id))
        pipe.zrem("apikeys:all", key_id)
        pipe.execute()
        return record.key

    def _lookup(self, digest: str) -> Principal | None:
        key_id = self.redis.get(_digest_key(digest))
        key = self._get(str(key_id)) if key_id else None
        if key is None:
            return None
        own = key.limits.model_dump(exclude_none=True)
        limits = dataclasses.replace(self.defaults, **own)
        return Principal(owner=key.owner, key_id=key.id, scopes=frozenset(key.scopes), limits=limits)

    def _get(self, key_id: str) -> ApiKey | None:
        raw, used = self.redis.mget([_record_key(key_id), _used_key(key_id)])
        if not raw:
            return None
        key = _Record.model_validate_json(raw).key
        return key.model_copy(update={"last_used_at": int(used)}) if used else key

    def _touch(self, key_id: str) -> None:
        now = time.time()
        with self._lock:
            if now - self._used.get(key_id, 0.0) < LAST_USED_EVERY_S:
                return
            self._used[key_id] = now
        self.redis.set(_used_key(key_id), int(now))

    def _digest(self, key: str) -> str:
        assert self._secret is not None
        return hmac.new(self._secret, key.encode(), hashlib.sha256).hexdigest()


def _record_key(key_id: str) -> str:
    return f"apikey:{key_id}"


def _digest_key(digest: str) -> str:
    return f"apikey:hash:{digest}"


def _used_key(key_id: str) -> str:
    return f"apikey:{key_id}:used"
