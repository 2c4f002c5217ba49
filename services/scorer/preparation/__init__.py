"""Dataset preparation: raw JSONL inputs → scored, deduplicated, rebalanced train / validation records.

Pure Python: inputs are iterables of lines, outputs plain lists and a JSON-ready report; storage and RPC
are wired around it elsewhere. See `pipeline` for the stages, `labelling` for the record format and `report`
for the report layout.
"""

from __future__ import annotations

from .extract import TEXT_FIELDS, extract_text
from .labelling import ScoreFn
from .options import PROFILES, PrepareOptions
from .pipeline import STAGES, PreparedDataset, ProgressEvent, prepare_dataset
from .reading import RawInput
from .rebalance import band_of, plan_rebalance
from .sources import FILENAME_SOURCE_MAP, KNOWN_SOURCE_TYPES, TRIVIUM_BY_SOURCE_TYPE, source_type_for_filename
from .split import split_sizes

__all__ = [
    "FILENAME_SOURCE_MAP",
    "KNOWN_SOURCE_TYPES",
    "PROFILES",
    "STAGES",
    "TEXT_FIELDS",
    "TRIVIUM_BY_SOURCE_TYPE",
    "PrepareOptions",
    "PreparedDataset",
    "ProgressEvent",
    "RawInput",
    "ScoreFn",
    "band_of",
    "extract_text",
    "plan_rebalance",
    "prepare_dataset",
    "source_type_for_filename",
    "split_sizes",
]
