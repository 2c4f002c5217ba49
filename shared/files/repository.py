"""File records in Redis: one JSON value per file, one sorted set per owner for listing."""

from __future__ import annotations

import json

import redis

from shared.files.models import FileObject
from shared.redis_store import KEY_PREFIX, redis_errors, texts

STORED_BYTES = f"{KEY_PREFIX}files:bytes"  # all files' bytes; `:<owner>` for one owner's


class FileRepository:
    """File metadata in Redis: one JSON value per file, and per owner a sorted set of file ids by creation time."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @staticmethod
    def _key(file_id: str) -> str:
        return f"{KEY_PREFIX}file:{file_id}"

    @staticmethod
    def _owner_key(owner: str) -> str:
        return f"{KEY_PREFIX}files:{owner}"

    def stored_bytes(self, owner: str | None = None) -> int:
        """The bytes of the owner's files (with None, every owner's) as recorded."""
        with redis_errors("reading stored bytes"):
            value = self.client.get(f"{STORED_BYTES}:{owner}" if owner else STORED_BYTES)
        return int(value or 0)

    def save(self, record: FileObject) -> None:
        payload = json.dumps({**record.model_dump(mode="json"), "owner": record.owner})
        with redis_errors("saving a file record"):
            # A sequence number, not created_at (whole seconds), so listing order is upload order.
            order = self.client.incr(f"{KEY_PREFIX}files:seq")
            pipe = self.client.pipeline()
            pipe.set(self._key(record.id), payload)
            pipe.zadd(self._owner_key(record.owner), {record.id: order})
            pipe.incrby(STORED_BYTES, record.bytes)
            pipe.incrby(f"{STORED_BYTES}:{record.owner}", record.bytes)
            pipe.execute()

    def get(self, file_id: str) -> FileObject | None:
        with redis_errors("reading a file record"):
            raw = self.client.get(self._key(file_id))
        return FileObject.model_validate_json(raw) if raw else None

    def list_ids(self, owner: str, *, newest_first: bool = True) -> list[str]:
        with redis_errors("listing files"):
            if newest_first:
                return texts(self.client.zrevrange(self._owner_key(owner), 0, -1))
            return texts(self.client.zrange(self._owner_key(owner), 0, -1))

    def get_many(self, file_ids: list[str]) -> list[FileObject]:
        if not file_ids:
            return []
        with redis_errors("reading file records"):
            raws = self.client.mget([self._key(i) for i in file_ids])
        return [FileObject.model_validate_json(raw) for raw in raws if raw]

    def delete(self, record: FileObject) -> None:
        with redis_errors("deleting a file record"):
            if not self.client.delete(self._key(record.id)):
                return  # deleted meanwhile: its bytes were given back then
            pipe = self.client.pipeline()
            pipe.zrem(self._owner_key(record.owner), record.id)
            pipe.decrby(STORED_BYTES, record.bytes)
            pipe.decrby(f"{STORED_BYTES}:{record.owner}", record.bytes)
            pipe.execute()
