"""Line-by-line validation of an upload while it streams, per purpose."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shared.files.models import Purpose
from shared.records import RecordError, parse_json_object, validate_training_record

MAX_REPORTED = 5
MAX_LINE_BYTES = 64 * 1024 * 1024

LineCheck = Callable[[bytes], None]


def _check_training_line(line: bytes) -> None:
    validate_training_record(parse_json_object(line))


def _check_object_line(line: bytes) -> None:
    parse_json_object(line)


CHECKS: dict[Purpose, LineCheck | None] = {
    Purpose.FINE_TUNE: _check_training_line,
    Purpose.RAW: _check_object_line,
    Purpose.BATCH: _check_object_line,
    Purpose.EVALS: _check_object_line,
    Purpose.ASSISTANTS: None,
}


@dataclass
class LineValidator:
    """Feed it chunks in order; it splits lines, checks each, and keeps the first few errors."""

    check: LineCheck | None
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0
    lines: int = 0
    _pending: bytes = b""

    @classmethod
    def for_purpose(cls, purpose: Purpose) -> LineValidator:
        return cls(CHECKS.get(purpose))

    @property
    def enabled(self) -> bool:
        return self.check is not None

    @property
    def full(self) -> bool:
        """Enough errors to reject the upload: stop reading."""
        return len(self.errors) >= MAX_REPORTED

    def feed(self, chunk: bytes) -> None:
        if self.check is None:
            return
        data = self._pending + chunk
        *complete, self._pending = data.split(b"\n")
        for line in complete:
            self._line(line)
        if len(self._pending) > MAX_LINE_BYTES:
            self._fail(self.lines + 1, f"line longer than {MAX_LINE_BYTES} bytes")
            self._pending = b""

    def finish(self) -> None:
        if self.check is not None and self._pending:
            self._line(self._pending)
            self._pending = b""

    def _line(self, line: bytes) -> None:
        self.lines += 1
        if self.check is None or not line.strip():
            return
        try:
            self.check(line)
        except RecordError as exc:
            self._fail(self.lines, str(exc))

    def _fail(self, line_no: int, reason: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED:
            self.errors.append((line_no, reason))

    def summary(self) -> str:
        shown = "; ".join(f"line {n}: {reason}" for n, reason in self.errors)
        more = "" if self.error_count <= len(self.errors) else f" (showing the first {len(self.errors)})"
        return f"{shown}{more}"
