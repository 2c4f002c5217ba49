"""Redis connection for record stores; connection failures become `Unavailable`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import redis

from shared.errors import Unavailable
from shared.settings import RedisSettings

KEY_PREFIX = "distrust:"


def connect(settings: RedisSettings) -> redis.Redis[str]:
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
