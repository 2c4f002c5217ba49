"""A host's copy of the stores' result columns by row id, so a search reads only ids and scores from the index.

Each column read of a search's results is a round trip to the object store (≈20 ms of a 33 ms search at 100 000
chunks); the ANN index alone answers in ≈12 ms. Lance row ids address a row's fragment and offset: a row's content
never changes under its id (an update is a delete and a new row; nothing here compacts), and store ids are never
reused, so an id read at any version names the same row. A copy is labelled with the store's counter
(`IndexVersions`) when it was read and answers only while the counter has not moved; a search that finds an id
it lacks reads its rows from the object store as before.

Copies are read in the background, in batches, and a store whose result columns exceed the budget is not copied.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from lancedb.table import Table

logger = logging.getLogger(__name__)

BATCH_ROWS = 8192


@dataclass(frozen=True)
class RowCopy:
    """A store's result columns as read at its counter `counter`."""

    counter: int
    rows: pa.Table
    position: dict[int, int]  # row id → row of `rows`

    def take(self, ids: Sequence[int]) -> list[dict[str, Any]] | None:
        """The rows of `ids` in order; None when one is missing (added after the copy was read)."""
        positions = [self.position.get(i) for i in ids]
        if any(p is None for p in positions):
            return None
        rows: list[dict[str, Any]] = self.rows.take(pa.array(positions, pa.int64())).to_pylist()
        return rows


class ResultRows:
    """Kept result columns per store (least recently used dropped first), within `budget_bytes` in all."""

    def __init__(self, columns: Sequence[str], budget_bytes: int) -> None:
        self.columns = list(columns)
        self.budget_bytes = budget_bytes
        self._copies: OrderedDict[str, RowCopy] = OrderedDict()
        self._loading: dict[str, int] = {}  # store → the counter its copy is being read at
        self._skipped: dict[str, int] = {}  # store → the counter at which it did not fit or failed
        self._lock = threading.Lock()
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="result-rows")

    def copy(self, name: str, counter: int) -> RowCopy | None:
        """The store's copy read at `counter`, if there is one."""
        with self._lock:
            copy = self._copies.get(name)
            if copy is None or copy.counter != counter:
                return None
            self._copies.move_to_end(name)
            return copy

    def refresh(self, name: str, counter: int, table: Table) -> None:
        """Read a copy of `table` at `counter` in the background, unless one is there, being read or skipped."""
        if self.budget_bytes <= 0:
            return
        with self._lock:
            copy = self._copies.get(name)
            if (copy is not None and copy.counter == counter) or self._loading.get(name) == counter:
                return
            if self._skipped.get(name) == counter:
                return
            self._loading[name] = counter
        self._reader.submit(self._read, name, counter, table)

    def forget(self, name: str) -> None:
        with self._lock:
            self._copies.pop(name, None)
            self._skipped.pop(name, None)

    def _read(self, name: str, counter: int, table: Table) -> None:
        try:
            rows = self._scan(table)
        except Exception:  # a failed copy only costs speed: searches read from the object store meanwhile
            logger.warning("result rows not copied", extra={"store": name}, exc_info=True)
            rows = None
        copy = None
        if rows is not None:
            ids = rows.column("_rowid").to_pylist()
            copy = RowCopy(counter, rows.drop_columns(["_rowid"]), {row_id: i for i, row_id in enumerate(ids)})
        with self._lock:
            if self._loading.get(name) == counter:
                del self._loading[name]
            if copy is None:
                self._skipped[name] = counter
                return
            self._copies[name] = copy
            self._copies.move_to_end(name)
            while sum(c.rows.nbytes for c in self._copies.values()) > self.budget_bytes and len(self._copies) > 1:
                self._copies.popitem(last=False)
        logger.info("result rows copied", extra={"store": name, "rows": len(copy.position), "bytes": copy.rows.nbytes})

    def _scan(self, table: Table) -> pa.Table | None:
        """The table's result columns with row ids, or None past the budget (stopped as soon as it is passed)."""
        reader = table.search().select(self.columns).with_row_id(True).limit(None).to_batches(BATCH_ROWS)
        batches, size = [], 0
        for batch in reader:
            size += batch.nbytes
            if size > self.budget_bytes:
                return None
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=reader.schema)
