"""Object storage against a real S3 server (rclone serve s3)."""

from __future__ import annotations

import hashlib
import io
import resource

import httpx
import pytest
from pydantic import SecretStr

from shared.errors import NotFound, Unavailable
from shared.settings import StorageSettings
from shared.storage import Bucket, ObjectStore

MAX_READ = 8 * 1024 * 1024


class PatternStream(io.RawIOBase):
    """`size` bytes generated on the fly, so the test itself never holds the object in memory."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.offset = 0
        # 251 is prime: content depends on the position only. One buffer, allocated up front.
        self.block = bytes(range(251)) * (MAX_READ // 251 + 2)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        n = min(MAX_READ, self.remaining if n < 0 else min(n, self.remaining))
        start = self.offset % 251
        out = self.block[start : start + n]
        self.remaining -= n
        self.offset += n
        return out


def test_round_trip_with_checksum(store: ObjectStore) -> None:
    info = store.put_bytes(Bucket.DATASETS, "rt/a.jsonl", b'{"text": "x"}\n', content_type="application/jsonl")
    assert info.sha256 == hashlib.sha256(b'{"text": "x"}\n').hexdigest()
    assert store.get_bytes(Bucket.DATASETS, "rt/a.jsonl") == b'{"text": "x"}\n'
    stat = store.stat(Bucket.DATASETS, "rt/a.jsonl")
    assert stat.size == 14 and stat.sha256 == info.sha256 and stat.content_type == "application/jsonl"


def test_listing_by_prefix_and_delete(store: ObjectStore) -> None:
    for name in ("a", "b", "c"):
        store.put_bytes(Bucket.RESULTS, f"list/{name}", name.encode())
    store.put_bytes(Bucket.RESULTS, "other/x", b"x")
    assert sorted(i.key for i in store.list(Bucket.RESULTS, "list/")) == ["list/a", "list/b", "list/c"]
    assert store.delete_prefix(Bucket.RESULTS, "list/") == 3
    assert list(store.list(Bucket.RESULTS, "list/")) == []
    assert store.exists(Bucket.RESULTS, "other/x")


def test_missing_object_is_not_found(store: ObjectStore) -> None:
    with pytest.raises(NotFound):
        store.stat(Bucket.FILES, "no-such-object")
    with pytest.raises(NotFound):
        store.get_bytes(Bucket.FILES, "no-such-object")


def test_50mb_object_streams_both_ways_in_bounded_memory(storage_settings: StorageSettings) -> None:
    store = ObjectStore(storage_settings.model_copy(update={"part_size_mb": 5, "upload_parallelism": 1}))
    size = 50 * 1024 * 1024
    expected = hashlib.sha256()
    source = PatternStream(size)
    for chunk in iter(lambda: source.read(1 << 20), b""):
        expected.update(chunk)
    upload = PatternStream(size)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    info = store.put_stream(Bucket.MODELS, "big/blob.bin", upload)
    assert info.size == size and info.sha256 == expected.hexdigest()
    got = hashlib.sha256()
    total = 0
    for chunk in store.iter_chunks(Bucket.MODELS, "big/blob.bin", expected_sha256=info.sha256):
        got.update(chunk)
        total += len(chunk)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert total == size and got.hexdigest() == expected.hexdigest()
    # About two 5 MB parts (and the SDK's copies of them) in flight, never the whole 50 MB object.
    assert grown_mb < 25, f"peak RSS grew by {grown_mb:.0f} MB for a 50 MB object"
    store.delete(Bucket.MODELS, "big/blob.bin")


def test_checksum_mismatch_is_detected(store: ObjectStore) -> None:
    store.put_bytes(Bucket.RESULTS, "sum/x", b"payload")
    with pytest.raises(Exception, match="checksum mismatch"):
        list(store.iter_chunks(Bucket.RESULTS, "sum/x", expected_sha256="0" * 64))


def test_presigned_url_downloads_and_tampering_is_refused(store: ObjectStore) -> None:
    store.put_bytes(Bucket.ADAPTERS, "signed/adapter.bin", b"weights")
    url = store.presigned_get_url(Bucket.ADAPTERS, "signed/adapter.bin", expires_s=60)
    assert httpx.get(url).content == b"weights"
    tampered = url.replace("adapter.bin", "adapter.bin2")
    assert httpx.get(tampered).status_code == 403


def test_wrong_credentials_are_rejected(storage_settings: StorageSettings) -> None:
    wrong = storage_settings.model_copy(update={"secret_key": SecretStr("not-the-secret")})
    with pytest.raises(Unavailable) as info:
        ObjectStore(wrong).ping()
    assert info.value.code == "storage_auth_failed"
    with pytest.raises(Unavailable):
        ObjectStore(wrong).put_bytes(Bucket.FILES, "x", b"x")


def test_unreachable_storage_is_unavailable() -> None:
    from tests.helpers.host import free_port

    settings = StorageSettings(endpoint=f"127.0.0.1:{free_port()}", access_key="a", secret_key="b", timeout_s=2)
    with pytest.raises(Unavailable):
        ObjectStore(settings).ping()
