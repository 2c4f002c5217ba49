"""Cutting a text into overlapping chunks of at most N tokens; each chunk is an exact slice of the text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.schemas.vector_stores import StaticChunking

Span = tuple[int, int]  # a token's (start, end) character offsets in the text


@dataclass(frozen=True)
class Chunk:
    """The `index`-th chunk: `text[start:end]`, `tokens` long."""

    index: int
    text: str
    start: int
    end: int
    tokens: int


def chunk_text(text: str, spans: Sequence[Span], size: StaticChunking) -> list[Chunk]:
    """Windows of `size.max_chunk_size_tokens` tokens stepping by max - overlap, until the last token is in one.

    `spans` are the text's tokens in order (a tokenizer's offsets); a text without tokens has no chunks.
    """
    width, overlap = size.max_chunk_size_tokens, size.chunk_overlap_tokens
    chunks: list[Chunk] = []
    first = 0
    while first < len(spans):
        last = min(first + width, len(spans))
        start, end = spans[first][0], spans[last - 1][1]
        chunks.append(Chunk(len(chunks), text[start:end], start, end, last - first))
        if last == len(spans):
            break
        first = last - overlap
    return chunks
