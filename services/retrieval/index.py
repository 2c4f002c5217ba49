"""The chunk index: one LanceDB table per vector store, its data in the object store (bucket `vectors`).

LanceDB runs in-process with no server; every gateway or worker host that reaches the object store sees the same
stores. A file's chunks go in with one `add` (one new table version), so a search sees all of them or none; they
leave with one `delete`. Search is vector (cosine), full text (BM25, LanceDB's own inverted index) or hybrid
(both searches, fused by reciprocal rank here).

Open tables are kept. With `IndexVersions` (a counter per store that every write moves, in Redis) a read looks
for a newer table version only when the counter moved, and a search reads only ids and scores from the index while
this host holds a copy of the store's result columns (`rows.ResultRows`); without, it asks the object store on every
read.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal, Protocol, TypeVar, cast

import lancedb
import pyarrow as pa
from lancedb.index import FTS, IvfSq
from lancedb.query import LanceVectorQueryBuilder
from lancedb.table import Table

from services.retrieval.chunking import Chunk
from services.retrieval.rows import ResultRows, RowCopy
from shared.settings import StorageSettings
from shared.storage import Bucket

logger = logging.getLogger(__name__)

SearchMode = Literal["vector", "text", "hybrid"]
T = TypeVar("T")
TEXT_INDEX_COLUMN = "text"
VECTOR_INDEX, TEXT_INDEX = "vector_idx", "text_idx"
ANN_MIN_ROWS = 10_000  # below this an exact scan is fast enough and an IVF index has too few rows to train on
RRF_K = 60  # reciprocal-rank fusion's usual constant (LanceDB's and Elasticsearch's default)
CATCH_UP_ROWS = 1000  # rows outside an index a search may scan in full after a batch (≈10 ms here)
NPROBES = 20  # of about sqrt(rows) partitions; 8-bit scalar codes are close enough not to re-rank (bench: 0.988)
RESULT_COLUMNS = [
    "file_id",
    "chunk_index",
    "text",
    "auth_weight",
    "prov_entropy",
    "attributes",
    "provenance",
]  # not the vector: each column read is a request to the object store


class IndexVersions(Protocol):
    """A counter per store that moves after every write to its chunks, seen by every host."""

    def current(self, store_id: str) -> int:
        """The store's counter (0 before any write)."""
        ...

    def advance(self, store_id: str) -> None:
        """Move the store's counter, after a write."""
        ...


@dataclass(frozen=True)
class IndexedChunk:
    """A chunk as stored: where it comes from, its vector, its provenance scores and the file's attributes."""

    file_id: str
    chunk: Chunk
    vector: list[float]
    auth_weight: float
    prov_entropy: float
    attributes: dict[str, str | float | bool]
    provenance: dict[str, Any] = field(default_factory=dict)  # open: the scorer's breakdown of the chunk


@dataclass(frozen=True)
class Hit:
    """A search result: the chunk, its relevance (higher is better) and its provenance scores."""

    file_id: str
    index: int
    text: str
    relevance: float
    auth_weight: float
    prov_entropy: float
    attributes: dict[str, str | float | bool]
    provenance: dict[str, Any] = field(default_factory=dict)


def storage_options(settings: StorageSettings) -> dict[str, str]:
    """LanceDB's (object_store's) options for the stack's S3 server."""
    scheme = "https" if settings.secure else "http"
    options = {
        "endpoint": f"{scheme}://{settings.lance_endpoint or settings.endpoint}",
        "region": settings.region,
        "allow_http": str(not settings.secure).lower(),
        "virtual_hosted_style_request": "false",
    }
    if settings.access_key and settings.secret_key:
        options["access_key_id"] = settings.access_key.get_secret_value()
        options["secret_access_key"] = settings.secret_key.get_secret_value()
    return options


class ChunkIndex:
    """Each vector store's chunks in its own table, `store_<id>`; safe to share between threads."""

    def __init__(
        self,
        settings: StorageSettings,
        *,
        ann_min_rows: int = ANN_MIN_ROWS,
        versions: IndexVersions | None = None,
    ) -> None:
        uri = f"s3://{settings.bucket_prefix}{Bucket.VECTORS.value}/stores"
        self.db = lancedb.connect(
            uri,
            storage_options=storage_options(settings),
            read_consistency_interval=None if versions is not None else timedelta(0),
        )
        self._tables: dict[str, Table] = {}
        self._seen: dict[str, int] = {}  # the store's counter when its kept table was last brought up to date
        self.versions = versions
        self.ann_min_rows = ann_min_rows
        copies = settings.lance_result_rows_mb * 2**20 if versions is not None else 0
        self._rows = ResultRows(RESULT_COLUMNS, copies)
        self._lock = threading.Lock()  # table creation and index rebuilds

    @staticmethod
    def _schema(dimensions: int) -> pa.Schema:
        return pa.schema(
            [
                ("file_id", pa.string()),
                ("chunk_index", pa.int32()),
                ("text", pa.string()),
                ("start", pa.int64()),
                ("end", pa.int64()),
                ("tokens", pa.int32()),
                ("vector", pa.list_(pa.float32(), dimensions)),
                ("auth_weight", pa.float32()),
                ("prov_entropy", pa.float32()),
                ("attributes", pa.string()),  # JSON: open data (filters pick files before the search)
                ("provenance", pa.string()),  # JSON: the scorer's breakdown
            ]
        )

    def _table(self, store_id: str) -> Table | None:
        name = f"store_{store_id}"
        version = self.versions.current(store_id) if self.versions is not None else 0
        with self._lock:
            table = self._tables.get(name)
            if table is not None and self._seen.get(name, version) != version:
                table = self._latest(name, table)
            if table is None and name in self.db.list_tables().tables:
                table = self._tables[name] = self.db.open_table(name)
            self._seen[name] = version
            return table

    def _latest(self, name: str, table: Table) -> Table | None:
        try:
            table.checkout_latest()  # type: ignore[no-untyped-call]  # lancedb leaves it unannotated
            return table
        except (RuntimeError, OSError, ValueError):  # dropped by another host (and maybe made again)
            del self._tables[name]
            return None

    def _wrote(self, store_id: str) -> None:
        if self.versions is not None:
            self.versions.advance(store_id)

    def _new_table(self, store_id: str, dimensions: int) -> Table:
        table = self._table(store_id)
        if table is not None:
            return table
        name = f"store_{store_id}"
        with self._lock:
            try:
                self._tables[name] = self.db.create_table(name, schema=self._schema(dimensions))
            except ValueError:  # another host created it meanwhile
                self._tables[name] = self.db.open_table(name)
            return self._tables[name]

    def add_file(self, store_id: str, chunks: Sequence[IndexedChunk]) -> None:
        """All of a file's chunks in one commit; the indexes are built again once half the rows are new."""
        if not chunks:
            return
        rows = [
            {
                "file_id": c.file_id,
                "chunk_index": c.chunk.index,
                "text": c.chunk.text,
                "start": c.chunk.start,
                "end": c.chunk.end,
                "tokens": c.chunk.tokens,
                "vector": c.vector,
                "auth_weight": c.auth_weight,
                "prov_entropy": c.prov_entropy,
                "attributes": json.dumps(c.attributes, sort_keys=True),
                "provenance": json.dumps(c.provenance, sort_keys=True),
            }
            for c in chunks
        ]
        dimensions = len(chunks[0].vector)
        table = self._new_table(store_id, dimensions)
        table.add(pa.Table.from_pylist(rows, schema=self._schema(dimensions)))
        self._wrote(store_id)
        with self._lock:
            self._build_indexes(table, allowed=None)
        self._wrote(store_id)

    def catch_up(self, store_id: str) -> None:
        """Indexes built again over every row if `CATCH_UP_ROWS` or more are outside them (after a file batch).

        A search scans the rows outside an index in full, reading them from the object store.
        """
        table = self._table(store_id)
        if table is None:
            return
        with self._lock:
            built = self._build_indexes(table, allowed=CATCH_UP_ROWS)
        if built:
            self._wrote(store_id)

    def _build_indexes(self, table: Table, *, allowed: int | None) -> bool:
        """BM25, and an IVF index (8-bit scalar codes) from `ann_min_rows` rows on; whether either was built.

        Each is built again when `allowed` rows (None: half the rows) or more are outside it, or is of an older kind.
        """
        rows, built = table.count_rows(), False
        allowed = (rows + 1) // 2 if allowed is None else allowed
        if _outdated(table, TEXT_INDEX, allowed):
            # With a config the first argument is the column. Rows added since are searched without it.
            table.create_index(TEXT_INDEX_COLUMN, config=FTS(), replace=True, name=TEXT_INDEX)
            built = True
        if rows >= self.ann_min_rows and _outdated(table, VECTOR_INDEX, allowed, "IvfSq"):
            partitions = max(1, min(int(rows**0.5), rows // 256))  # k-means wants a few hundred rows per partition
            config = IvfSq(distance_type="cosine", num_partitions=partitions)
            table.create_index("vector", config=config, replace=True, name=VECTOR_INDEX)
            logger.info("vector index built", extra={"rows": rows})
            built = True
        return built

    def delete_file(self, store_id: str, file_id: str) -> None:
        self._read(store_id, lambda table: table.delete(f"file_id = '{_quoted(file_id)}'"), None)
        self._wrote(store_id)

    def drop_store(self, store_id: str) -> None:
        with self._lock:
            name = f"store_{store_id}"
            self._tables.pop(name, None)
            self._rows.forget(name)
            if name in self.db.list_tables().tables:
                self.db.drop_table(name)
        self._wrote(store_id)

    def _read(self, store_id: str, use: Callable[[Table], T], empty: T) -> T:
        """`use(table)`, or `empty` without a table; a kept table dropped by another host is looked up again."""
        table = self._table(store_id)
        if table is None:
            return empty
        try:
            return use(table)
        except (RuntimeError, OSError):
            with self._lock:
                self._tables.pop(f"store_{store_id}", None)
            table = self._table(store_id)
            return empty if table is None else use(table)

    def count(self, store_id: str, file_id: str | None = None) -> int:
        where = None if file_id is None else f"file_id = '{_quoted(file_id)}'"
        return self._read(store_id, lambda table: int(table.count_rows(where)), 0)

    def search(
        self,
        store_id: str,
        *,
        vector: Sequence[float] | None,
        text: str | None,
        limit: int,
        mode: SearchMode,
        file_ids: Sequence[str] | None = None,
        exact: bool = False,
    ) -> list[Hit]:
        """The `limit` best chunks by `mode`, among the chunks of `file_ids` when given (`exact`: no ANN index).

        Relevance is the cosine similarity (vector), the BM25 score (text) or the fused reciprocal-rank score.
        """
        if file_ids is not None and not file_ids:
            return []
        where = None if file_ids is None else "file_id IN (" + ", ".join(f"'{_quoted(f)}'" for f in file_ids) + ")"
        name = f"store_{store_id}"

        def use(table: Table) -> list[Hit]:
            counter = self._seen.get(name, -1)
            self._rows.refresh(name, counter, table)  # searched here: worth a copy (a writer never asks for one)
            return _search(table, vector, text, limit, mode, where, exact, self._rows.copy(name, counter))

        return self._read(store_id, use, [])

    def unindexed_rows(self, store_id: str) -> dict[str, int]:
        """Per index of the store, the rows outside it (a search scans them in full)."""

        def outside(table: Table) -> dict[str, int]:
            stats = {i.name: table.index_stats(i.name) for i in table.list_indices()}
            return {name: int(s.num_unindexed_rows) for name, s in stats.items() if s is not None}

        return self._read(store_id, outside, {})

    def copied_bytes(self, store_id: str) -> int | None:
        """The size of this host's copy of the store's result rows at its counter; None while it has none."""
        name = f"store_{store_id}"
        self._table(store_id)  # the counter read
        copy = self._rows.copy(name, self._seen.get(name, -1))
        return None if copy is None else int(copy.rows.nbytes)


def _search(
    table: Table,
    vector: Sequence[float] | None,
    text: str | None,
    limit: int,
    mode: SearchMode,
    where: str | None,
    exact: bool,
    copy: RowCopy | None,
) -> list[Hit]:
    if mode == "hybrid":
        by_vector = _search(table, vector, None, limit, "vector", where, exact, copy)
        return _fused(by_vector, _search(table, None, text, limit, "text", where, exact, copy), limit)
    if mode == "vector":
        rows = cast(LanceVectorQueryBuilder, table.search(list(vector or []), vector_column_name="vector"))
        rows = rows.distance_type("cosine").nprobes(NPROBES)
        rows = rows.bypass_vector_index() if exact else rows
        found = _found((rows.where(where, prefilter=True) if where else rows).limit(limit), "_distance", copy)
        return [_hit(row, 1.0 - distance) for row, distance in found]
    fts = table.search(text or "", query_type="fts")
    return [
        _hit(row, score)
        for row, score in _found((fts.where(where, prefilter=True) if where else fts).limit(limit), "_score", copy)
    ]


def _found(query: Any, score: str, copy: RowCopy | None) -> list[tuple[dict[str, Any], float]]:
    """Each result's row and `score`: ids and scores alone from the index when `copy` holds their rows."""
    if copy is not None:
        found = query.select([score]).with_row_id(True).to_list()
        kept = copy.take([int(r["_rowid"]) for r in found])
        if kept is not None:
            return [(row, float(r[score])) for row, r in zip(kept, found, strict=True)]
    return [(r, float(r[score])) for r in query.select([*RESULT_COLUMNS, score]).to_list()]


def _fused(by_vector: list[Hit], by_text: list[Hit], limit: int) -> list[Hit]:
    """Reciprocal-rank fusion: a chunk's relevance is the sum over both lists of 1 / (RRF_K + its rank there)."""
    scores: dict[tuple[str, int], float] = {}
    hits: dict[tuple[str, int], Hit] = {}
    for ranked in (by_vector, by_text):
        for rank, hit in enumerate(ranked, start=1):
            key = (hit.file_id, hit.index)
            scores[key] = scores.get(key, 0.0) + 1.0 / (RRF_K + rank)
            hits.setdefault(key, hit)
    best = sorted(scores, key=lambda key: -scores[key])[:limit]
    return [replace(hits[key], relevance=scores[key]) for key in best]


def _outdated(table: Table, name: str, allowed: int, kind: str | None = None) -> bool:
    """Whether the index `name` is missing, not of `kind` (when given), or has `allowed` rows or more outside it."""
    found = {i.name: i.index_type for i in table.list_indices()}
    if name not in found or (kind is not None and found[name] != kind):  # an older IVF-PQ is replaced
        return True
    stats = table.index_stats(name)
    return stats is None or (stats.num_unindexed_rows > 0 and stats.num_unindexed_rows >= allowed)


def _hit(row: dict[str, Any], relevance: float) -> Hit:
    return Hit(
        file_id=row["file_id"],
        index=int(row["chunk_index"]),
        text=row["text"],
        relevance=relevance,
        auth_weight=float(row["auth_weight"]),
        prov_entropy=float(row["prov_entropy"]),
        attributes=json.loads(row["attributes"]),
        provenance=json.loads(row["provenance"]),
    )


def _quoted(value: str) -> str:
    return value.replace("'", "''")
