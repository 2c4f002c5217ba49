"""Structured logging: plain or JSON lines, with the request id / job id of the current context in every record.

configure_logging(settings.log, service="scorer")
with log_context(request_id="req_1"):
    logger.info("scored batch", extra={"documents": 12})
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any, TextIO

from shared.settings import LogSettings

# The default is never mutated: log_context() always sets a new dict.
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("distrust_log_context", default={})  # noqa: B039

# Attributes every LogRecord has; anything else was passed through `extra=` and is structured context.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add fields (request_id, job_id, ...) to every record logged inside the block, across threads' copies."""
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> dict[str, Any]:
    """A copy of the fields bound to log records in this context."""
    return dict(_context.get())


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the bound context and any extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_extra_fields(record),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """A readable line per record, with the bound context and extra fields as key=value pairs."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(service)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in _extra_fields(record).items() if k != "service"}
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return line


class _Handler(logging.StreamHandler[TextIO]):
    """The handler `configure_logging` installs, told apart from others' by its class when it runs again."""


def configure_logging(settings: LogSettings, *, service: str) -> None:
    """Install one stderr handler on the root logger; safe to call more than once."""
    handler = _Handler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.json_format else TextFormatter())
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _Handler):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    for noisy in ("urllib3", "botocore", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
