"""`distrust score`: one JSON result per input line, in order, through the stack or in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO, TypedDict

from rich.console import Console

from cli.client import GatewayClient
from cli.commands.progress import bytes_progress
from shared.errors import InvalidArgument
from shared.records import RecordError

BATCH = 256


class _Document(TypedDict):
    text: str
    metadata: dict[str, Any] | None  # the line's other fields, as the user wrote them


class _LineError(TypedDict):
    message: str
    param: str | None


def score_file(
    input_path: Path, output_path: Path, *, profile: str, local: bool, text_field: str, console: Console
) -> tuple[int, int]:
    """Score every line of `input_path` into `output_path`; return (lines, lines with an error)."""
    scorer = (
        _LocalScorer(profile, text_field) if local else _RemoteScorer(GatewayClient.from_env(), profile, text_field)
    )
    total = input_path.stat().st_size
    lines = errors = 0
    with (
        input_path.open("rb") as source,
        output_path.open("w", encoding="utf-8") as out,
        bytes_progress(console) as progress,
    ):
        task = progress.add_task("scoring", total=total, note="")
        for batch, size in _batches(source):
            for result in scorer.score(batch):
                errors += "error" in result
                out.write(json.dumps(result, ensure_ascii=False) + "\n")
            lines += len(batch)
            progress.update(task, advance=size, note=f"{lines} lines, {errors} errors")
    return lines, errors


def _batches(source: Any) -> Iterator[tuple[list[tuple[int, bytes]], int]]:
    batch: list[tuple[int, bytes]] = []
    size = 0
    for number, line in enumerate(source, start=1):
        size += len(line)
        if line.strip():
            batch.append((number, line))
        if len(batch) >= BATCH:
            yield batch, size
            batch, size = [], 0
    if batch or size:
        yield batch, size


def _error(number: int, exc: Exception) -> dict[str, object]:
    message = getattr(exc, "message", None) or str(exc)
    error: _LineError = {"message": message, "param": getattr(exc, "param", None)}
    return {"line": number, "error": error}


class _LocalScorer:
    def __init__(self, profile: str, text_field: str) -> None:
        from services.scorer.scoring.profiles import get_profile

        self.scoring = get_profile(profile)
        self.text_field = text_field

    def score(self, batch: list[tuple[int, bytes]]) -> Iterator[dict[str, Any]]:
        from services.scorer.datasets import score_one, split_record

        for number, line in batch:
            try:
                _record, text, metadata = split_record(line, self.text_field)
                yield {"line": number, **asdict(score_one(text, metadata, self.scoring, index=number - 1))}
            except (RecordError, InvalidArgument) as exc:
                yield _error(number, exc)


class _RemoteScorer:
    def __init__(self, client: GatewayClient, profile: str, text_field: str) -> None:
        self.client = client
        self.profile = profile
        self.text_field = text_field

    def score(self, batch: list[tuple[int, bytes]]) -> Iterator[dict[str, Any]]:
        from services.scorer.datasets import split_record

        parsed: list[tuple[int, _Document | Exception]] = []
        for number, line in batch:
            try:
                _record, text, metadata = split_record(line, self.text_field)
                parsed.append((number, _Document(text=text, metadata=metadata or None)))
            except RecordError as exc:
                parsed.append((number, exc))
        good = [(n, doc) for n, doc in parsed if isinstance(doc, dict)]
        results = self._post([doc for _, doc in good]) if good else []
        if results is None:  # one bad document fails the whole request: find it by scoring one at a time
            results = [self._one(doc) for _, doc in good]
        by_line = {n: r for (n, _), r in zip(good, results, strict=True)}
        for number, doc in parsed:
            yield _error(number, doc) if isinstance(doc, Exception) else {"line": number, **by_line[number]}

    # open: each line's result is written as the gateway returned it (its ScoreList lives in the route)
    def _request(self, documents: list[_Document]) -> list[dict[str, Any]]:
        data = self.client.request("POST", "/v1/score", json={"documents": documents, "profile": self.profile})
        return [{k: v for k, v in item.items() if k not in ("object", "index")} for item in data["data"]]

    def _post(self, documents: list[_Document]) -> list[dict[str, Any]] | None:
        try:
            return self._request(documents)
        except InvalidArgument:
            return None

    def _one(self, document: _Document) -> dict[str, Any]:
        try:
            return self._request([document])[0]
        except InvalidArgument as exc:
            return {"error": {"message": exc.message, "param": exc.param}}


def write_summary(out: TextIO, lines: int, errors: int, output: Path) -> None:
    """Write the one-line summary of a scoring run."""
    out.write(f"scored {lines} lines into {output}" + (f" ({errors} with errors)" if errors else "") + "\n")
