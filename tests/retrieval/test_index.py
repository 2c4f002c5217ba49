"""The chunk index on LanceDB with its data in the test S3 server: a file's chunks arrive and leave together;
vector, full-text and hybrid search."""

from __future__ import annotations

import secrets
import time

import numpy as np
import pytest
import redis

from services.retrieval.chunking import Chunk
from services.retrieval.index import ChunkIndex, Hit, IndexedChunk
from services.retrieval.repository import RedisIndexVersions
from services.retrieval.rows import RowCopy
from shared.settings import RedisSettings, StorageSettings

DIM = 8


def chunks(file_id: str, texts: list[str], rng: np.random.Generator) -> list[IndexedChunk]:
    return [
        IndexedChunk(
            file_id=file_id,
            chunk=Chunk(i, text, 0, len(text), len(text.split())),
            vector=rng.normal(size=DIM).astype("float32").tolist(),
            auth_weight=0.1 * i,
            prov_entropy=1.0 + i,
            attributes={"source": file_id, "year": 1900 + i},
        )
        for i, text in enumerate(texts)
    ]


@pytest.fixture
def index(storage_settings: StorageSettings) -> ChunkIndex:
    return ChunkIndex(storage_settings)


def test_a_files_chunks_are_searchable_together_and_deleted_together(index: ChunkIndex) -> None:
    store = "vs_" + secrets.token_hex(4)
    rng = np.random.default_rng(0)
    storm = chunks("file-a", ["the keeper's logbook of the storm", "rain all night", "the lamp failed"], rng)
    cake = chunks("file-b", ["butter and sugar for the cake", "bake for an hour"], rng)
    index.add_file(store, storm)
    index.add_file(store, cake)
    assert (index.count(store), index.count(store, "file-a")) == (5, 3)

    nearest = index.search(store, vector=cake[1].vector, text=None, limit=2, mode="vector")
    assert (nearest[0].file_id, nearest[0].index) == ("file-b", 1) and nearest[0].relevance == pytest.approx(1.0)
    words = index.search(store, vector=None, text="logbook storm", limit=3, mode="text")
    assert words[0].text == "the keeper's logbook of the storm" and words[0].attributes == {
        "source": "file-a",
        "year": 1900,
    }
    fused = index.search(store, vector=cake[0].vector, text="logbook", limit=5, mode="hybrid")
    assert {(h.file_id, h.index) for h in fused[:2]} == {("file-b", 0), ("file-a", 0)}

    index.delete_file(store, "file-a")
    assert index.count(store) == 2 and not index.search(store, vector=None, text="logbook", limit=3, mode="text")
    index.drop_store(store)
    assert index.count(store) == 0 and index.search(store, vector=None, text="cake", limit=3, mode="text") == []


def test_a_second_host_sees_the_same_store(index: ChunkIndex, storage_settings: StorageSettings) -> None:
    store = "vs_" + secrets.token_hex(4)
    index.add_file(store, chunks("file-c", ["a letter from the archive"], np.random.default_rng(1)))
    other = ChunkIndex(storage_settings)
    assert [h.text for h in other.search(store, vector=None, text="letter", limit=1, mode="text")] == [
        "a letter from the archive"
    ]


def test_kept_tables_look_again_when_the_stores_counter_moved(
    storage_settings: StorageSettings, redis_settings: RedisSettings
) -> None:
    versions = RedisIndexVersions(redis.Redis.from_url(redis_settings.url.get_secret_value()))
    writer = ChunkIndex(storage_settings, versions=versions)
    reader = ChunkIndex(storage_settings, versions=versions)
    store = "vs_" + secrets.token_hex(4)
    rng = np.random.default_rng(2)
    writer.add_file(store, chunks("file-a", ["a letter from the archive"], rng))
    assert reader.count(store) == 1
    writer.add_file(store, chunks("file-b", ["a second letter", "a third"], rng))
    assert reader.count(store) == 3
    ChunkIndex(storage_settings).add_file(store, chunks("file-c", ["unannounced"], rng))  # moves no counter
    assert reader.count(store) == 3  # the kept table is not asked again...
    versions.advance(store)
    assert reader.count(store) == 4  # ...until the counter moves
    writer.delete_file(store, "file-a")
    assert reader.count(store) == 3 and reader.count(store, "file-a") == 0
    writer.drop_store(store)
    assert reader.count(store) == 0 and reader.search(store, vector=None, text="letter", limit=3, mode="text") == []


def copied(index: ChunkIndex, store: str, wait_s: float = 10.0) -> bool:
    """Whether `index` holds a copy of the store's result rows at its counter after searches, waiting `wait_s`."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        index.search(store, vector=None, text="storm", limit=1, mode="text")  # a search asks for the copy
        if index.copied_bytes(store) is not None:
            return True
        time.sleep(0.05)
    return False


def test_searches_answer_the_same_from_the_hosts_copy_of_the_result_rows(
    storage_settings: StorageSettings, redis_settings: RedisSettings
) -> None:
    versions = RedisIndexVersions(redis.Redis.from_url(redis_settings.url.get_secret_value()))
    writer, reader = ChunkIndex(storage_settings, versions=versions), ChunkIndex(storage_settings, versions=versions)
    plain = ChunkIndex(storage_settings)  # no counter: no copy, every column read from the object store
    store = "vs_" + secrets.token_hex(4)
    rng = np.random.default_rng(3)
    storm = chunks("file-a", ["the keeper's logbook of the storm", "rain all night", "the lamp failed"], rng)
    writer.add_file(store, storm)
    writer.add_file(store, chunks("file-b", ["butter and sugar for the cake", "bake for an hour"], rng))

    def searches(index: ChunkIndex) -> list[list[Hit]]:
        return [
            index.search(store, vector=storm[1].vector, text=None, limit=3, mode="vector"),
            index.search(store, vector=None, text="logbook cake", limit=3, mode="text"),
            index.search(store, vector=storm[2].vector, text="cake", limit=4, mode="hybrid"),
            index.search(store, vector=storm[0].vector, text=None, limit=5, mode="vector", file_ids=["file-b"]),
        ]

    assert writer.copied_bytes(store) is None  # a host that only writes holds no copy
    assert copied(reader, store) and searches(reader) == searches(plain)
    assert searches(reader)[0][0].text == "rain all night" and searches(reader)[0][0].attributes["year"] == 1901

    late = chunks("file-c", ["a late note on the storm"], rng)
    writer.add_file(store, late)  # the counter moves: the old copy no longer answers, the new file is found
    assert reader.search(store, vector=late[0].vector, text=None, limit=1, mode="vector")[0].file_id == "file-c"
    writer.delete_file(store, "file-a")
    assert copied(reader, store) and searches(reader) == searches(plain)
    assert {h.file_id for h in reader.search(store, vector=storm[1].vector, text=None, limit=9, mode="vector")} == {
        "file-b",
        "file-c",
    }
    writer.drop_store(store)
    assert reader.search(store, vector=storm[1].vector, text=None, limit=3, mode="vector") == []


def test_a_store_larger_than_the_budget_is_not_copied_and_still_searched(
    storage_settings: StorageSettings, redis_settings: RedisSettings
) -> None:
    versions = RedisIndexVersions(redis.Redis.from_url(redis_settings.url.get_secret_value()))
    small = storage_settings.model_copy(update={"lance_result_rows_mb": 0})
    index = ChunkIndex(small, versions=versions)
    store = "vs_" + secrets.token_hex(4)
    index.add_file(store, chunks("file-a", ["a letter from the archive"], np.random.default_rng(4)))
    assert not copied(index, store, wait_s=1.0)
    assert index.search(store, vector=None, text="letter", limit=1, mode="text")[0].text == "a letter from the archive"


def test_a_copy_without_an_id_answers_nothing() -> None:
    import pyarrow as pa

    copy = RowCopy(3, pa.table({"text": ["a", "b"]}), {10: 0, 42: 1})
    assert copy.take([42, 10]) == [{"text": "b"}, {"text": "a"}]
    assert copy.take([42, 11]) is None


def test_a_large_store_gets_a_vector_index_and_still_finds_the_exact_neighbour(
    storage_settings: StorageSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = ChunkIndex(storage_settings, ann_min_rows=300)
    store = "vs_" + secrets.token_hex(4)
    rng = np.random.default_rng(1)

    def batch(name: str, n: int) -> list[IndexedChunk]:
        vectors = rng.normal(size=(n, 32)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return [
            IndexedChunk(name, Chunk(i, f"{name} entry {i}", 0, 9, 3), v.tolist(), 0.5, 1.0, {})
            for i, v in enumerate(vectors)
        ]

    first = batch("file-a", 200)
    index.add_file(store, first)
    table = index._table(store)
    assert table is not None and "vector_idx" not in {i.name for i in table.list_indices()}
    second = batch("file-b", 200)
    index.add_file(store, second)
    table = index._table(store)
    assert table is not None and "vector_idx" in {i.name for i in table.list_indices()}
    for target in (first[17], second[3]):
        found = index.search(store, vector=target.vector, text=None, limit=3, mode="vector")
        exact = index.search(store, vector=target.vector, text=None, limit=3, mode="vector", exact=True)
        assert (exact[0].file_id, exact[0].index) == (target.file_id, target.chunk.index)
        assert (found[0].file_id, found[0].index) == (target.file_id, target.chunk.index)
        assert found[0].relevance == pytest.approx(1.0, abs=1e-4)
    fused = index.search(store, vector=second[3].vector, text="file-b entry 3", limit=3, mode="hybrid")
    assert (fused[0].file_id, fused[0].index) == ("file-b", 3)

    index.add_file(store, batch("file-d", 150))  # under half the rows: searched outside the indexes
    assert index.unindexed_rows(store) == {"vector_idx": 150, "text_idx": 150}
    index.catch_up(store)  # under CATCH_UP_ROWS: left so
    assert index.unindexed_rows(store) == {"vector_idx": 150, "text_idx": 150}
    monkeypatch.setattr("services.retrieval.index.CATCH_UP_ROWS", 100)
    index.catch_up(store)  # as the ingestion does after a batch
    assert index.unindexed_rows(store) == {"vector_idx": 0, "text_idx": 0}
    found = index.search(store, vector=second[5].vector, text=None, limit=1, mode="vector")
    assert (found[0].file_id, found[0].index) == ("file-b", 5)
    from lancedb.index import IvfPq

    table.create_index(
        "vector", config=IvfPq(distance_type="cosine", num_partitions=2), replace=True, name="vector_idx"
    )
    index.add_file(store, batch("file-c", 10))  # a store indexed by an older release: rebuilt on the next file
    assert {i.name: i.index_type for i in table.list_indices()}["vector_idx"] == "IvfSq"


def test_hybrid_fuses_the_two_rankings_by_reciprocal_rank() -> None:
    from services.retrieval.index import RRF_K, Hit, _fused

    def hit(file_id: str, relevance: float) -> Hit:
        return Hit(file_id, 0, file_id, relevance, 0.5, 1.0, {})

    by_vector = [hit("a", 0.9), hit("b", 0.8), hit("c", 0.7)]
    by_text = [hit("c", 12.0), hit("d", 9.0)]
    fused = _fused(by_vector, by_text, limit=3)
    assert [h.file_id for h in fused] == ["c", "a", "b"]  # in both lists beats first in one
    assert fused[0].relevance == pytest.approx(1 / (RRF_K + 3) + 1 / (RRF_K + 1))
    assert fused[1].relevance == pytest.approx(1 / (RRF_K + 1)) and fused[0].text == "c"
