"""A batch's input file: one request per line (`custom_id`, `method`, `url`, `body`), each checked before queuing.

Every line must be a POST to the batch's endpoint with a body that endpoint accepts, under a `custom_id` no other
line uses; a body that asks to stream is refused (a batch answers whole responses).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.gateway.batches.records import BatchEndpoint
from services.gateway.error_mapping import invalid_argument
from services.gateway.schemas.chat import ChatCompletionRequest
from services.gateway.schemas.completions import CompletionRequest
from services.gateway.schemas.embeddings import EmbeddingRequest
from shared.errors import DistrustError, InvalidArgument
from shared.records import RecordError, parse_json_object

MAX_REQUESTS = 50_000  # OpenAI's limit per batch
MAX_CUSTOM_ID = 512
MAX_REPORTED = 5
LINE_KEYS = frozenset({"custom_id", "method", "url", "body"})
Body = ChatCompletionRequest | CompletionRequest | EmbeddingRequest
BODIES: dict[str, type[Body]] = {
    "/v1/chat/completions": ChatCompletionRequest,
    "/v1/completions": CompletionRequest,
    "/v1/embeddings": EmbeddingRequest,
}


@dataclass(frozen=True)
class BatchItem:
    """One request of a batch: its line in the input file, its caller's id and its typed body."""

    line: int
    custom_id: str
    body: Body


def _custom_id(record: dict[str, Any], endpoint: BatchEndpoint, seen: dict[str, int]) -> str:
    """The line's custom_id, once its envelope (keys, id, method, url) is checked."""
    unknown = sorted(set(record) - LINE_KEYS)
    if unknown:
        raise InvalidArgument(f"unknown field {unknown[0]!r} (a line has custom_id, method, url and body)")
    custom_id = record.get("custom_id")
    if not isinstance(custom_id, str) or not custom_id or len(custom_id) > MAX_CUSTOM_ID:
        raise InvalidArgument(f"custom_id: a non-empty string of at most {MAX_CUSTOM_ID} characters")
    if custom_id in seen:
        raise InvalidArgument(
            f"custom_id {custom_id!r} is already used on line {seen[custom_id]} (each must be unique)"
        )
    if record.get("method") != "POST":
        raise InvalidArgument(f'method: {record.get("method")!r}, expected "POST"')
    if record.get("url") != endpoint:
        raise InvalidArgument(f"url: {record.get('url')!r} is not this batch's endpoint {endpoint!r}")
    return custom_id


def _body(value: object, endpoint: BatchEndpoint) -> Body:
    if not isinstance(value, dict):
        raise InvalidArgument("body: a JSON object, the request for the endpoint")
    try:
        body = BODIES[endpoint].model_validate(value)
    except ValidationError as exc:
        raise invalid_argument(exc.errors()[0], prefix="body") from None
    if getattr(body, "stream", False):
        raise InvalidArgument("body.stream: a batch answers whole responses; streaming is not supported")
    if isinstance(body, ChatCompletionRequest) and body.retrieval is not None:
        raise InvalidArgument("body.retrieval: not in batches (search the stores, then send the context)")
    if isinstance(body, ChatCompletionRequest | CompletionRequest):
        body.check_supported()
    return body


def _item(raw: bytes, endpoint: BatchEndpoint, seen: dict[str, int]) -> tuple[str, Body]:
    try:
        record = parse_json_object(raw)
    except RecordError as exc:
        raise InvalidArgument(str(exc)) from None
    return _custom_id(record, endpoint, seen), _body(record.get("body"), endpoint)


def read_items(lines: Iterable[bytes], endpoint: BatchEndpoint, *, field: str = "input_file_id") -> list[BatchItem]:
    """Every request of the file; InvalidArgument naming the first bad lines (and `field`) when any is bad."""
    items: list[BatchItem] = []
    seen: dict[str, int] = {}
    bad: list[str] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            custom_id, body = _item(raw, endpoint, seen)
        except DistrustError as exc:
            bad.append(f"line {number}: {exc.message}")
            if len(bad) >= MAX_REPORTED:
                break
            continue
        seen[custom_id] = number
        items.append(BatchItem(number, custom_id, body))
        if len(items) > MAX_REQUESTS:
            raise InvalidArgument(f"{field}: more than {MAX_REQUESTS} requests in one batch", param=field)
    if bad:
        raise InvalidArgument(
            f"{field}: the batch's input file cannot be run: " + "; ".join(bad), param=field, code="invalid_batch_file"
        )
    if not items:
        raise InvalidArgument(f"{field}: the batch's input file has no request", param=field)
    return items
