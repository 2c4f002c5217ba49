"""Fixtures of the dataset-preparation tests: a deterministic fake scorer and line builders."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.scorer.preparation import KNOWN_SOURCE_TYPES

#: The fake scorer gives a text containing one of these tags the matching weight.
TAG_WEIGHTS = {"LOWTAG": 0.1, "MIDTAG": 0.5, "HIGHTAG": 0.9}


@dataclass(frozen=True)
class FakeResult:
    auth_weight: float
    prov_entropy: float
    scoring_method: str


@dataclass
class FakeScorer:
    """auth_weight from a tag in the text (else 0.5), prov_entropy 10·(1 − w); records every call."""

    calls: list[tuple[str, dict[str, Any] | None]] = field(default_factory=list)

    def __call__(self, text: str, metadata: Mapping[str, Any] | None) -> FakeResult:
        self.calls.append((text, dict(metadata) if metadata is not None else None))
        weight = next((w for tag, w in TAG_WEIGHTS.items() if tag in text), 0.5)
        known = metadata is not None and metadata.get("source_type") in KNOWN_SOURCE_TYPES
        return FakeResult(weight, round(10 * (1 - weight), 6), "hybrid" if known else "dynamic")


@pytest.fixture
def fake_score() -> FakeScorer:
    return FakeScorer()


def _text(tag: str, i: int, length: int = 120) -> str:
    base = f"{tag} record number {i} "
    return (base + "lorem ipsum dolor sit amet " * (length // 20 + 1))[:length]


@pytest.fixture
def text_of() -> Callable[..., str]:
    """text_of(tag, i, length=120): a distinct text of `length` characters carrying `tag`."""
    return _text


@pytest.fixture
def lines_of() -> Callable[..., list[str]]:
    """lines_of(low, mid, high, **extra): JSONL lines with that many records per band (fake scorer)."""

    def build(low: int = 0, mid: int = 0, high: int = 0, **extra: Any) -> list[str]:
        out: list[str] = []
        for tag, n in (("LOWTAG", low), ("MIDTAG", mid), ("HIGHTAG", high)):
            out.extend(json.dumps({"text": _text(tag, i), **extra}) for i in range(n))
        return out

    return build
