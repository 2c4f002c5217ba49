"""Exact and whitespace-normalised duplicate removal over the training content (first occurrence wins).

Two records are duplicates when their output content is the same: the (cut) `text`, or the messages (role and
content of each), or prompt + completion. Records of different shapes never match. "Whitespace-normalised"
means every run of whitespace becomes one space and the ends are stripped; case and punctuation still count.
Only 16-byte digests of the keys are kept, not second copies of the texts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from .extract import ContentKind

T = TypeVar("T")
DuplicateKind = Literal["exact", "whitespace"]


def normalise_whitespace(text: str) -> str:
    """The text with every whitespace run made one space and the ends stripped."""
    return " ".join(text.split())


def _digest(kind: ContentKind, parts: list[str]) -> bytes:
    """16-byte digest of the parts; each is length-prefixed, so ["a b", "c"] and ["a", "b c"] differ."""
    digest = hashlib.blake2b(kind.encode("ascii"), digest_size=16)
    for part in parts:
        data = part.encode("utf-8", errors="surrogatepass")
        digest.update(b"\x00%d:" % len(data))
        digest.update(data)
    return digest.digest()


def content_keys(kind: ContentKind, fields: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """(exact key, whitespace-normalised key) of a record's content fields."""
    if kind == "text":
        parts = [fields["text"]]
    elif kind == "messages":
        parts = [part for m in fields["messages"] for part in (m["role"], m["content"])]
    else:
        parts = [fields["prompt"], fields["completion"]]
    return _digest(kind, parts), _digest(kind, [normalise_whitespace(p) for p in parts])


@dataclass
class DedupResult(Generic[T]):
    """The items kept, in order, and each removed item with the kind of duplicate it was."""

    kept: list[T]
    removed: list[tuple[T, DuplicateKind]] = field(default_factory=list)

    @property
    def exact(self) -> int:
        return sum(1 for _, kind in self.removed if kind == "exact")

    @property
    def whitespace(self) -> int:
        return sum(1 for _, kind in self.removed if kind == "whitespace")


def deduplicate(items: Sequence[T], keys: Callable[[T], tuple[bytes, bytes]]) -> DedupResult[T]:
    """Drop later items whose content equals an earlier one's, exactly or after normalising whitespace.

    A removed item is counted `exact` when an earlier item (kept or not) has the identical content, else
    `whitespace`.
    """
    seen_exact: set[bytes] = set()
    seen_normalised: set[bytes] = set()
    result: DedupResult[T] = DedupResult(kept=[])
    for item in items:
        exact, normalised = keys(item)
        if exact in seen_exact:
            result.removed.append((item, "exact"))
        elif normalised in seen_normalised:
            result.removed.append((item, "whitespace"))
            seen_exact.add(exact)
        else:
            result.kept.append(item)
            seen_exact.add(exact)
            seen_normalised.add(normalised)
    return result
