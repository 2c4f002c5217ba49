"""Vector-store records in Redis: one JSON value per store, one hash of file records per store, listing orders."""

from __future__ import annotations

from collections.abc import Callable

import redis

from services.retrieval.records import VectorStoreFileRecord, VectorStoreRecord
from shared.errors import NotFound, invalid_field
from shared.redis_store import KEY_PREFIX, redis_errors, texts

P = f"{KEY_PREFIX}vs"


def page_after(ids: list[str], after: str | None, limit: int) -> tuple[list[str], bool]:
    """OpenAI's cursor paging over `ids` (in listing order): up to `limit` ids after `after`, and whether more follow."""
    if not 1 <= limit <= 100:
        raise invalid_field("limit", limit, "an integer in [1, 100]")
    if after:
        if after not in ids:
            raise NotFound(f"after: no such item in this list: {after}", param="after")
        ids = ids[ids.index(after) + 1 :]
    return ids[:limit], len(ids) > limit


class StoreRepository:
    """Stores by id and by owner (newest first); each store's files by id and in the order they were added."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def save(self, record: VectorStoreRecord, *, new: bool = False) -> None:
        with redis_errors("saving a vector store"):
            pipe = self.client.pipeline()
            pipe.set(f"{P}:{record.id}", record.model_dump_json())
            if new:
                pipe.zadd(f"{P}s:{record.owner}", {record.id: self.client.incr(f"{P}s:seq")})
            pipe.execute()

    def get(self, store_id: str) -> VectorStoreRecord | None:
        with redis_errors("reading a vector store"):
            raw = self.client.get(f"{P}:{store_id}")
        return VectorStoreRecord.model_validate_json(raw) if raw else None

    def update(self, store_id: str, mutate: Callable[[VectorStoreRecord], None]) -> VectorStoreRecord | None:
        """Read-modify-write under WATCH; None when the store is gone."""
        key = f"{P}:{store_id}"
        with redis_errors("updating a vector store"), self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.watch unannotated
                    raw = pipe.get(key)
                    if raw is None:
                        return None
                    record = VectorStoreRecord.model_validate_json(raw)
                    mutate(record)
                    pipe.multi()
                    pipe.set(key, record.model_dump_json())
                    pipe.execute()
                    return record
                except redis.WatchError:
                    continue

    def store_ids(self, owner: str) -> list[str]:
        with redis_errors("listing vector stores"):
            return texts(self.client.zrevrange(f"{P}s:{owner}", 0, -1))

    def get_stores(self, ids: list[str]) -> list[VectorStoreRecord]:
        if not ids:
            return []
        with redis_errors("reading vector stores"):
            raws = self.client.mget([f"{P}:{i}" for i in ids])
        return [VectorStoreRecord.model_validate_json(r) for r in raws if r]

    def delete_store(self, record: VectorStoreRecord) -> None:
        with redis_errors("deleting a vector store"):
            pipe = self.client.pipeline()
            pipe.delete(f"{P}:{record.id}", f"{P}:{record.id}:files", f"{P}:{record.id}:order")
            pipe.zrem(f"{P}s:{record.owner}", record.id)
            pipe.execute()

    def save_file(self, record: VectorStoreFileRecord, *, new: bool = False) -> None:
        key = f"{P}:{record.vector_store_id}"
        with redis_errors("saving a vector store file"):
            pipe = self.client.pipeline()
            pipe.hset(f"{key}:files", record.id, record.model_dump_json())
            if new:
                pipe.zadd(f"{key}:order", {record.id: self.client.incr(f"{P}s:seq")})
            pipe.execute()

    def update_file(
        self, store_id: str, file_id: str, mutate: Callable[[VectorStoreFileRecord], None]
    ) -> VectorStoreFileRecord | None:
        """Read-modify-write under WATCH; None (and nothing written) when the file left the store meanwhile."""
        key = f"{P}:{store_id}:files"
        with redis_errors("updating a vector store file"), self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves Pipeline.watch unannotated
                    raw = pipe.hget(key, file_id)
                    if raw is None:
                        return None
                    record = VectorStoreFileRecord.model_validate_json(raw)
                    mutate(record)
                    pipe.multi()
                    pipe.hset(key, file_id, record.model_dump_json())
                    pipe.execute()
                    return record
                except redis.WatchError:
                    continue

    def get_file(self, store_id: str, file_id: str) -> VectorStoreFileRecord | None:
        with redis_errors("reading a vector store file"):
            raw = self.client.hget(f"{P}:{store_id}:files", file_id)
        return VectorStoreFileRecord.model_validate_json(raw) if raw else None

    def file_ids(self, store_id: str, *, newest_first: bool = True) -> list[str]:
        key = f"{P}:{store_id}:order"
        with redis_errors("listing vector store files"):
            ids = self.client.zrevrange(key, 0, -1) if newest_first else self.client.zrange(key, 0, -1)
        return texts(ids)

    def get_files(self, store_id: str, ids: list[str] | None = None) -> list[VectorStoreFileRecord]:
        """The files `ids` (in that order, missing ones left out), or all of the store's files, newest first."""
        ids = self.file_ids(store_id) if ids is None else ids
        if not ids:
            return []
        with redis_errors("reading vector store files"):
            raws = self.client.hmget(f"{P}:{store_id}:files", ids)
        return [VectorStoreFileRecord.model_validate_json(r) for r in raws if r]

    def delete_file(self, store_id: str, file_id: str) -> bool:
        with redis_errors("deleting a vector store file"):
            pipe = self.client.pipeline()
            pipe.hdel(f"{P}:{store_id}:files", file_id)
            pipe.zrem(f"{P}:{store_id}:order", file_id)
            removed, _ = pipe.execute()
        return bool(removed)


class RedisIndexVersions:
    """`IndexVersions` in Redis: one counter per store, so a host's kept tables look again only after a write."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def current(self, store_id: str) -> int:
        with redis_errors("reading a vector store's index version"):
            raw = self.client.get(f"{P}:{store_id}:index_version")
        return int(raw) if raw else 0

    def advance(self, store_id: str) -> None:
        with redis_errors("moving a vector store's index version"):
            self.client.incr(f"{P}:{store_id}:index_version")
