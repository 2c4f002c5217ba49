"""Dataset preparation over stored files: raw inputs from the files API in, train / val / report files out."""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.scorer.preparation import PreparedDataset, ProgressEvent, RawInput, prepare_dataset
from shared.errors import NotFound, invalid_field
from shared.files import FileService, Purpose
from shared.files.models import FileObject
from shared.schemas.preparation import MAX_INPUTS, PreparationInput, PreparationOptions
from shared.storage import Bucket

logger = logging.getLogger(__name__)

INPUT_PURPOSES = (Purpose.RAW, Purpose.FINE_TUNE)


@dataclass(frozen=True)
class PrepareOutcome:
    """The stored outputs of a run and its report."""

    train_file: FileObject
    validation_file: FileObject
    report_file: FileObject
    report: dict[str, Any]


def check_inputs(files: FileService, owner: str, inputs: Sequence[PreparationInput]) -> list[FileObject]:
    """The owner's input files, each of an input purpose; InvalidArgument naming the first bad input."""
    if not inputs:
        raise invalid_field("inputs", [], "at least one raw file id")
    if len(inputs) > MAX_INPUTS:
        raise invalid_field("inputs", f"{len(inputs)} files", f"at most {MAX_INPUTS} files")
    records = []
    for i, ref in enumerate(inputs):
        try:
            record = files.get(owner=owner, file_id=ref.file_id)
        except NotFound as exc:
            raise NotFound(
                f"inputs[{i}].file_id: no such File object: {ref.file_id}",
                param=f"inputs[{i}].file_id",
                code="file_not_found",
            ) from exc
        if record.purpose not in INPUT_PURPOSES:
            raise invalid_field(
                f"inputs[{i}].file_id",
                ref.file_id,
                f"a file uploaded with purpose {' or '.join(p.value for p in INPUT_PURPOSES)} "
                f"(this one is {record.purpose.value})",
            )
        records.append(record)
    return records


def prepare_stored_files(
    files: FileService,
    *,
    owner: str,
    inputs: Sequence[PreparationInput],
    options: PreparationOptions,
    progress: Callable[[ProgressEvent], None],
    on_stored: Callable[[str, FileObject], None] = lambda _field, _file: None,
) -> PrepareOutcome:
    """Prepare the owner's inputs and store the three outputs; `progress` may raise to stop the run.

    The outputs are written only at the end; `on_stored(field, file)` hears of each as soon as it is stored
    (field: "train_file", "validation_file" or "report_file"), so a rerun can remove those of a dead run.
    """
    records = check_inputs(files, owner, inputs)
    raw = [
        RawInput(
            name=rec.filename,
            lines=files.store.iter_lines(Bucket.FILES, rec.storage_key),
            source_type=ref.source_type or None,
        )
        for rec, ref in zip(records, inputs, strict=True)
    ]
    prepared = prepare_dataset(raw, options, progress=progress)
    progress(ProgressEvent("writing", 0, 3, "storing train.jsonl, val.jsonl and report.json"))
    return store_outputs(files, owner, prepared, on_stored)


def store_outputs(
    files: FileService, owner: str, prepared: PreparedDataset, on_stored: Callable[[str, FileObject], None]
) -> PrepareOutcome:
    """Store train.jsonl, val.jsonl (purpose fine-tune) and report.json; `on_stored` hears of each at once."""
    with tempfile.TemporaryDirectory(prefix="distrust-prepare-") as tmp:
        paths = {name: Path(tmp) / name for name in ("train.jsonl", "val.jsonl", "report.json")}
        for name, rows in (("train.jsonl", prepared.train), ("val.jsonl", prepared.val)):
            with paths[name].open("w", encoding="utf-8") as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        paths["report.json"].write_text(json.dumps(prepared.report, indent=2, allow_nan=False))
        stored = {}
        for field, name, purpose in (
            ("train_file", "train.jsonl", Purpose.FINE_TUNE),
            ("validation_file", "val.jsonl", Purpose.FINE_TUNE),
            ("report_file", "report.json", Purpose.DATASET_REPORT),
        ):
            stored[field] = files.create_from_path(owner=owner, filename=name, purpose=purpose, path=paths[name])
            on_stored(field, stored[field])
    train, val, report_file = stored["train_file"], stored["validation_file"], stored["report_file"]
    logger.info(
        "dataset prepared", extra={"train": len(prepared.train), "val": len(prepared.val), "train_file": train.id}
    )
    return PrepareOutcome(train, val, report_file, prepared.report)
