"""A batch's answers so far, kept in Redis by `custom_id` as each request finishes: a resumed batch skips them."""

from __future__ import annotations

import json
from typing import Any

import redis

from shared.redis_store import KEY_PREFIX, redis_errors, text, texts

OK, FAILED = "ok", "failed"


class BatchResults:
    """The output line of every finished request of one batch, and whether it succeeded."""

    def __init__(self, client: redis.Redis, batch_id: str) -> None:
        self.redis = client
        self.key = f"{KEY_PREFIX}batch:{batch_id}:results"

    def record(self, custom_id: str, line: dict[str, Any], *, ok: bool) -> None:  # open: an OpenAI body
        with redis_errors("recording a batch result"):
            self.redis.hset(self.key, custom_id, json.dumps({"outcome": OK if ok else FAILED, "line": line}))

    def all(self) -> dict[str, tuple[bool, dict[str, Any]]]:
        """custom_id → (succeeded, output line)."""
        with redis_errors("reading batch results"):
            raw = self.redis.hgetall(self.key)
        parsed = {text(k): json.loads(v) for k, v in raw.items()}
        return {k: (v["outcome"] == OK, v["line"]) for k, v in parsed.items()}

    def finished(self) -> set[str]:
        with redis_errors("reading batch results"):
            return set(texts(self.redis.hkeys(self.key)))

    def counts(self) -> tuple[int, int]:
        """(completed, failed) so far."""
        outcomes = [ok for ok, _ in self.all().values()]
        return sum(outcomes), len(outcomes) - sum(outcomes)

    def clear(self) -> None:
        with redis_errors("clearing batch results"):
            self.redis.delete(self.key)
