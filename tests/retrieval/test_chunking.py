"""Chunking: windows of at most N tokens overlapping by M, each an exact slice of the text; sizes checked."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from services.retrieval.chunking import chunk_text
from shared.schemas.vector_stores import ChunkingStrategy, StaticChunking


def spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


def test_windows_overlap_and_cover_every_token() -> None:
    text = " ".join(f"w{i}" for i in range(250))
    chunks = chunk_text(text, spans(text), StaticChunking(max_chunk_size_tokens=100, chunk_overlap_tokens=30))
    assert [c.tokens for c in chunks] == [100, 100, 100, 40]  # starts 0, 70, 140, 210
    assert chunks[0].text.split()[-30:] == chunks[1].text.split()[:30]
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert chunks[-1].text.endswith("w249") and [c.index for c in chunks] == [0, 1, 2, 3]


def test_short_and_empty_texts() -> None:
    size = StaticChunking(max_chunk_size_tokens=100, chunk_overlap_tokens=0)
    assert [c.text for c in chunk_text("one two", spans("one two"), size)] == ["one two"]
    assert chunk_text("   ", [], size) == []


def test_auto_is_openais_default_and_bad_sizes_are_refused_naming_the_field() -> None:
    strategy = TypeAdapter(ChunkingStrategy)
    assert strategy.validate_python({"type": "auto"}).size == StaticChunking(
        max_chunk_size_tokens=800, chunk_overlap_tokens=400
    )
    with pytest.raises(Exception, match="chunk_overlap_tokens"):
        strategy.validate_python(
            {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101}}
        )
    with pytest.raises(ValidationError):
        strategy.validate_python({"type": "static", "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0}})
