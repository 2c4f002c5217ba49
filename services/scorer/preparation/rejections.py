"""Rejected lines: every one is counted by reason; the first `MAX_LISTED_REJECTIONS` are listed in full."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.errors import InvalidArgument

#: The report lists at most this many rejected lines (with file, line and reason); all are counted.
MAX_LISTED_REJECTIONS = 1000


@dataclass(frozen=True, slots=True)
class Rejection:
    """One line that did not become a record."""

    file: str
    input_index: int
    line: int  # 1-based
    code: str  # invalid_utf8 | invalid_json | not_an_object | no_text | too_short | invalid_messages | …
    reason: str
    excerpt: str  # at most EXCERPT_CHARS characters of the line

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "input_index": self.input_index,
            "line": self.line,
            "code": self.code,
            "reason": self.reason,
            "excerpt": self.excerpt,
        }

    def to_error(self) -> InvalidArgument:
        """The error that rejects the whole run in strict mode: names the file, the line and the reason."""
        return InvalidArgument(
            f"{self.file} line {self.line}: {self.reason} (strict mode rejects any malformed line)",
            param=f"inputs[{self.input_index}]",
        )


@dataclass
class RejectionLog:
    """Collects rejections; in strict mode the first one is raised as `InvalidArgument` instead."""

    strict: bool
    limit: int = MAX_LISTED_REJECTIONS
    listed: list[Rejection] = field(default_factory=list)
    total: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    by_input: Counter[int] = field(default_factory=Counter)

    def add(self, rejection: Rejection) -> None:
        if self.strict:
            raise rejection.to_error()
        self.total += 1
        self.by_code[rejection.code] += 1
        self.by_input[rejection.input_index] += 1
        if len(self.listed) < self.limit:
            self.listed.append(rejection)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_reason": dict(sorted(self.by_code.items())),
            "listed": len(self.listed),
            "truncated": self.total > len(self.listed),
            "lines": [r.to_dict() for r in self.listed],
        }
