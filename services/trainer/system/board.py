"""Where trainer workers publish their machine: one Redis key per worker with a TTL, so a dead worker vanishes."""

from __future__ import annotations

import redis

from shared.redis_store import KEY_PREFIX, redis_errors, texts
from shared.schemas.hardware import WorkerHardware

WORKERS = f"{KEY_PREFIX}hardware:workers"  # the ids that published; an id whose report expired is dropped on read


def _key(worker_id: str) -> str:
    return f"{KEY_PREFIX}hardware:worker:{worker_id}"


class HardwareBoard:
    """The workers' latest reports about their machines, in Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client

    def publish(self, worker: WorkerHardware, ttl_s: int) -> None:
        """Store `worker`'s report; it disappears after `ttl_s` seconds unless published again."""
        with redis_errors("publishing a worker's hardware"):
            pipe = self.redis.pipeline()
            pipe.set(_key(worker.id), worker.model_dump_json(), ex=ttl_s)
            pipe.sadd(WORKERS, worker.id)
            pipe.execute()

    def remove(self, worker_id: str) -> None:
        """Forget a worker (it is shutting down)."""
        with redis_errors("removing a worker's hardware"):
            pipe = self.redis.pipeline()
            pipe.delete(_key(worker_id))
            pipe.srem(WORKERS, worker_id)
            pipe.execute()

    def live(self) -> list[WorkerHardware]:
        """The reports not yet expired, by worker id."""
        with redis_errors("reading the workers' hardware"):
            ids = sorted(texts(self.redis.smembers(WORKERS)))
            values = self.redis.mget([_key(i) for i in ids]) if ids else []
            expired = [i for i, value in zip(ids, values, strict=True) if value is None]
            if expired:
                self.redis.srem(WORKERS, *expired)
        return [WorkerHardware.model_validate_json(v) for v in values if v is not None]
