"""Dataset preparation over stored files: raw inputs from the files API in, train / val / report files out."""

from __future__ import annotations

import json
import logging
import queue
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.scorer.preparation import PreparedDataset, PrepareOptions, ProgressEvent, RawInput, prepare_dataset
from shared.errors import Cancelled, invalid_field
from shared.files import FileService, Purpose
from shared.files.models import FileObject
from shared.storage import Bucket

logger = logging.getLogger(__name__)

INPUT_PURPOSES = (Purpose.RAW, Purpose.FINE_TUNE)
MAX_INPUTS = 64


@dataclass(frozen=True)
class InputRef:
    file_id: str
    source_type: str | None = None


@dataclass(frozen=True)
class PrepareOutcome:
    train_file: FileObject
    validation_file: FileObject
    report_file: FileObject
    report: dict[str, Any]


def prepare_stored_files(
    files: FileService,
    *,
    owner: str,
    inputs: Sequence[InputRef],
    options: Mapping[str, Any],
    profile: str | None = None,
) -> Iterator[ProgressEvent | PrepareOutcome]:
    """Yield progress events, then one `PrepareOutcome`. Closing the iterator early cancels the run."""
    opts = PrepareOptions.from_mapping({**options, **({"profile": profile} if profile else {})})
    if not inputs:
        raise invalid_field("inputs", [], "at least one raw file id")
    if len(inputs) > MAX_INPUTS:
        raise invalid_field("inputs", f"{len(inputs)} files", f"at most {MAX_INPUTS} files")
    records = []
    for i, ref in enumerate(inputs):
        record = files.get(owner=owner, file_id=ref.file_id)
        if record.purpose not in INPUT_PURPOSES:
            raise invalid_field(
                f"inputs[{i}].file_id",
                ref.file_id,
                f"a file uploaded with purpose {' or '.join(p.value for p in INPUT_PURPOSES)} "
                f"(this one is {record.purpose.value})",
            )
        records.append(record)
    raw = [
        RawInput(
            name=rec.filename,
            lines=files.store.iter_lines(Bucket.FILES, rec.storage_key),
            source_type=ref.source_type or None,
        )
        for rec, ref in zip(records, inputs, strict=True)
    ]

    events: queue.Queue[ProgressEvent | PreparedDataset | BaseException] = queue.Queue(maxsize=256)
    cancelled = threading.Event()

    def on_progress(event: ProgressEvent) -> None:
        if cancelled.is_set():
            raise Cancelled("dataset preparation was cancelled")
        events.put(event)

    def run() -> None:
        try:
            events.put(prepare_dataset(raw, opts, progress=on_progress))
        except BaseException as exc:
            events.put(exc)

    worker = threading.Thread(target=run, name="prepare", daemon=True)
    worker.start()
    try:
        while True:
            item = events.get()
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, PreparedDataset):
                break
            yield item
    finally:
        cancelled.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                events.get(timeout=0.1)
            except queue.Empty:
                pass
    yield ProgressEvent("writing", 0, 3, "storing train.jsonl, val.jsonl and report.json")
    yield _store_outputs(files, owner, item)


def _store_outputs(files: FileService, owner: str, prepared: PreparedDataset) -> PrepareOutcome:
    with tempfile.TemporaryDirectory(prefix="distrust-prepare-") as tmp:
        paths = {name: Path(tmp) / name for name in ("train.jsonl", "val.jsonl", "report.json")}
        for name, rows in (("train.jsonl", prepared.train), ("val.jsonl", prepared.val)):
            with paths[name].open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        paths["report.json"].write_text(json.dumps(prepared.report, indent=2, allow_nan=False))
        train = files.create_from_path(
            owner=owner, filename="train.jsonl", purpose=Purpose.FINE_TUNE, path=paths["train.jsonl"]
        )
        val = files.create_from_path(
            owner=owner, filename="val.jsonl", purpose=Purpose.FINE_TUNE, path=paths["val.jsonl"]
        )
        report_file = files.create_from_path(
            owner=owner, filename="report.json", purpose=Purpose.DATASET_REPORT, path=paths["report.json"]
        )
    logger.info(
        "dataset prepared", extra={"train": len(prepared.train), "val": len(prepared.val), "train_file": train.id}
    )
    return PrepareOutcome(train, val, report_file, prepared.report)
