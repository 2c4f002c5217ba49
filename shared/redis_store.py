"""Redis connection for record stores; connection failures become `Unavailable`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import redis

from shared.errors import Unavailable
from shared.settings import RedisSettings

KEY_PREFIX = "distrust:"


def text(reply: bytes | str) -> str:
    """A reply of a `connect()` client as str (it decodes replies; redis-py's types cannot say so)."""
    return reply.decode() if isinstance(reply, bytes) else reply


def texts(replies: Iterable[object]) -> list[str]:
    """Members a `connect()` client returned (sets, sorted-set ranges without scores) as a list of str."""
    return [reply.decode() if isinstance(reply, bytes) else str(reply) for reply in replies]


def connect(settings: RedisSettings) -> redis.Redis:
    """A Redis client for `settings` with short timeouts, decoding replies to str."""
    return redis.Redis.from_url(
        settings.url.get_secret_value(),
        socket_connect_timeout=3,
        socket_timeout=10,
        health_check_interval=30,
        decode_responses=True,
    )


@contextlib.contextmanager
def redis_errors(doing: str) -> Iterator[None]:
    """Turn Redis connection, timeout and auth failures inside the block into Unavailable, saying what was `doing`."""
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise Unavailable(f"Redis is unreachable while {doing}: {exc}", code="redis_unavailable") from exc
    except redis.AuthenticationError as exc:
        raise Unavailable(f"Redis rejected the credentials while {doing}", code="redis_auth_failed") from exc
