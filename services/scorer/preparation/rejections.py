"""Rejected lines: every one is counted by reason; the first `MAX_LISTED_REJECTIONS` are listed in full."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from shared.errors import InvalidArgument
from shared.schemas.preparation_report import RejectedLine, Rejections

#: The report lists at most this many rejected lines (with file, line and reason); all are counted.
MAX_LISTED_REJECTIONS = 1000


def strict_error(rejection: RejectedLine) -> InvalidArgument:
    """The error that rejects the whole run in strict mode: names the file, the line and the reason."""
    return InvalidArgument(
        f"{rejection.file} line {rejection.line}: {rejection.reason} (strict mode rejects any malformed line)",
        param=f"inputs[{rejection.input_index}]",
    )


@dataclass
class RejectionLog:
    """Collects rejections; in strict mode the first one is raised as `InvalidArgument` instead."""

    strict: bool
    limit: int = MAX_LISTED_REJECTIONS
    listed: list[RejectedLine] = field(default_factory=list)
    total: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    by_input: Counter[int] = field(default_factory=Counter)

    def add(self, rejection: RejectedLine) -> None:
        if self.strict:
            raise strict_error(rejection)
        self.total += 1
        self.by_code[rejection.code] += 1
        self.by_input[rejection.input_index] += 1
        if len(self.listed) < self.limit:
            self.listed.append(rejection)

    def report(self) -> Rejections:
        """The counts and the listed lines, as the report shows them."""
        return Rejections(
            total=self.total,
            by_reason=dict(sorted(self.by_code.items())),
            listed=len(self.listed),
            truncated=self.total > len(self.listed),
            lines=self.listed,
        )
