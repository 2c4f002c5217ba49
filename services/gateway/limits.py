"""Rate limits per key and for the whole deployment, shared by every gateway replica through Redis.

Requests and tokens count in one-minute windows (`rl:<who>:<kind>:<minute>`); a request's tokens are estimated
when it is admitted, as OpenAI does (its prompt's characters / 4 plus `max_tokens`). Concurrent streams are a
counter taken when a stream opens and given back when it ends. Over a limit: `RateLimited` (a 429 with
`Retry-After`), and every answer carries OpenAI's `x-ratelimit-*` headers for the key.

Concurrent jobs and stored bytes are the key's owner's (jobs and files belong to owners): the jobs of every kind
queued or running, and the bytes of their files, against the key's limit and the deployment's. A new job over
the limit is a 429 with `Retry-After`; an upload over the stored-bytes limit a 429 `insufficient_quota`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from shared.errors import QuotaExceeded, RateLimited
from shared.files.repository import FileRepository
from shared.jobs.store import active_jobs

WINDOW_S = 60
STREAM_TTL_S = 3600  # a replica that dies mid-stream gives its streams back after this long
JOB_RETRY_S = 30  # a job slot frees when a job ends: minutes, usually


@dataclass(frozen=True)
class Limits:
    """A key's limits; 0 is unlimited."""

    requests_per_minute: int = 0
    tokens_per_minute: int = 0
    concurrent_streams: int = 0
    concurrent_jobs: int = 0
    stored_bytes: int = 0


class RateLimiter:
    """Counts requests, tokens and open streams per key (and `deployment`, for the global limits)."""

    def __init__(self, client: redis.Redis, deployment: Limits, clock: Callable[[], float] = time.time) -> None:
        self.redis = client
        self.deployment = deployment
        self.clock = clock

    def admit(self, key_id: str, limits: Limits, *, requests: int = 1, tokens: int = 0) -> dict[str, str]:
        """Count `requests` and `tokens` for the key and the deployment; the key's x-ratelimit headers.

        RateLimited if any limit is exceeded; a refused request is not counted.
        """
        now = self.clock()
        window = int(now // WINDOW_S)
        reset = f"{WINDOW_S - now % WINDOW_S:.0f}s"
        checks = [(key_id, limits), ("deployment", self.deployment)]
        counted: list[tuple[str, int]] = []
        headers: dict[str, str] = {}
        try:
            for who, limit in checks:
                for kind, amount, cap in (
                    ("requests", requests, limit.requests_per_minute),
                    ("tokens", tokens, limit.tokens_per_minute),
                ):
                    if not cap or not amount:
                        continue
                    name = f"rl:{who}:{kind}:{window}"
                    pipe = self.redis.pipeline()
                    pipe.incrby(name, amount)
                    pipe.expire(name, 2 * WINDOW_S)
                    used = int(pipe.execute()[0])
                    counted.append((name, amount))
                    if who == key_id:
                        headers[f"x-ratelimit-limit-{kind}"] = str(cap)
                        headers[f"x-ratelimit-remaining-{kind}"] = str(max(0, cap - used))
                        headers[f"x-ratelimit-reset-{kind}"] = reset
                    if used > cap:
                        scope = "this API key" if who == key_id else "the deployment"
                        raise RateLimited(
                            f"Rate limit reached for {scope}: {cap} {kind} per minute. Retry after {reset}.",
                            retry_after_s=WINDOW_S - now % WINDOW_S,
                            kind=kind,
                            headers=headers,
                        )
        except RateLimited:
            self._give_back(counted)
            raise
        return headers

    def open_stream(self, key_id: str, limits: Limits) -> Callable[[], None]:
        """Take one of the key's concurrent streams; the returned function gives it back. RateLimited if none."""
        if not limits.concurrent_streams:
            return lambda: None
        name = f"rl:{key_id}:streams"
        pipe = self.redis.pipeline()
        pipe.incr(name)
        pipe.expire(name, STREAM_TTL_S)
        open_now = int(pipe.execute()[0])
        if open_now > limits.concurrent_streams:
            self.redis.decr(name)
            raise RateLimited(
                f"This API key already has {limits.concurrent_streams} streams open (its limit); retry when one ends",
                retry_after_s=1,
            )
        closed = False

        def close() -> None:
            nonlocal closed
            if not closed:
                closed = True
                self.redis.decr(name)

        return close

    def admit_job(self, owner: str, limits: Limits) -> None:
        """RateLimited if the owner (or the deployment) already has as many jobs queued or running as allowed."""
        for who, cap in ((owner, limits.concurrent_jobs), (None, self.deployment.concurrent_jobs)):
            if cap and active_jobs(self.redis, who) >= cap:
                scope = "this API key's owner" if who else "the deployment"
                raise RateLimited(
                    f"Concurrent job limit reached for {scope}: {cap} jobs queued or running. "
                    f"Retry when one has ended.",
                    retry_after_s=JOB_RETRY_S,
                    kind="jobs",
                    headers={"x-ratelimit-limit-jobs": str(cap), "x-ratelimit-remaining-jobs": "0"},
                )

    def storage_left(self, owner: str, limits: Limits) -> int | None:
        """The bytes the owner may still store (None: no limit); QuotaExceeded when there are none."""
        files = FileRepository(self.redis)
        left: int | None = None
        for who, cap in ((owner, limits.stored_bytes), (None, self.deployment.stored_bytes)):
            if not cap:
                continue
            room = cap - files.stored_bytes(who)
            if room <= 0:
                raise quota_exceeded(cap, "this API key's owner" if who else "the deployment")
            left = room if left is None else min(left, room)
        return left

    def _give_back(self, counted: list[tuple[str, int]]) -> None:
        pipe = self.redis.pipeline()
        for name, amount in counted:
            pipe.decrby(name, amount)
        pipe.execute()


def quota_exceeded(cap: int, scope: str) -> QuotaExceeded:
    """The refusal of an upload when `scope` already stores `cap` bytes."""
    return QuotaExceeded(
        f"file: storage limit reached for {scope}: {cap} bytes of files; delete files to upload more",
        param="file",
    )
