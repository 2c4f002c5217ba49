"""A batch's input lines and its status in OpenAI's words, without servers."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from services.gateway.batches.lines import MAX_REPORTED, read_items
from services.gateway.batches.records import BatchRecord
from services.gateway.schemas.batch import Batch
from services.gateway.schemas.chat import ChatCompletionRequest
from shared.errors import InvalidArgument
from shared.jobs.records import JobStatus

CHAT = "/v1/chat/completions"


def _line(custom_id: str = "a", **changes: Any) -> bytes:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return json.dumps({"custom_id": custom_id, "method": "POST", "url": CHAT, "body": body, **changes}).encode()


def test_lines_become_typed_requests_in_order() -> None:
    items = read_items([_line("x"), b"", _line("y")], CHAT)
    assert [(i.line, i.custom_id) for i in items] == [(1, "x"), (3, "y")]
    assert isinstance(items[0].body, ChatCompletionRequest) and items[0].body.model == "m"


def test_every_bad_line_is_named_up_to_a_few() -> None:
    lines = [_line("a"), _line("a"), b"not json", _line("b", url="/v1/embeddings"), *[_line("c", method="PUT")] * 9]
    with pytest.raises(InvalidArgument) as caught:
        read_items(lines, CHAT)
    message = caught.value.message
    assert caught.value.param == "input_file_id" and caught.value.code == "invalid_batch_file"
    assert (
        "line 2: custom_id 'a' is already used on line 1" in message
        and "line 3:" in message
        and "line 4: url" in message
    )
    assert len(re.findall(r"line \d+:", message)) == MAX_REPORTED


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="no request"):
        read_items([b"", b"  "], CHAT)


def test_statuses_read_as_openais() -> None:
    record = BatchRecord(owner="o", input_file_id="f", endpoint=CHAT)
    seen = []
    for status, finalizing, expired in (
        (JobStatus.QUEUED, None, None),
        (JobStatus.RUNNING, None, None),
        (JobStatus.RUNNING, 5, None),
        (JobStatus.SUCCEEDED, 5, None),
        (JobStatus.SUCCEEDED, 5, 9),
        (JobStatus.CANCELLING, None, None),
        (JobStatus.CANCELLED, None, None),
        (JobStatus.FAILED, None, None),
    ):
        shown = Batch.of(
            record.model_copy(update={"status": status, "finalizing_at": finalizing, "expired_at": expired})
        )
        seen.append(shown.status)
    assert seen == [
        "validating",
        "in_progress",
        "finalizing",
        "completed",
        "expired",
        "cancelling",
        "cancelled",
        "failed",
    ]
    assert Batch.of(record).expires_at == record.created_at + 24 * 3600


def test_a_line_asking_for_retrieval_is_refused() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "retrieval": {"vector_store_ids": ["vs_1"]}}
    line = json.dumps({"custom_id": "r", "method": "POST", "url": CHAT, "body": body}).encode()
    with pytest.raises(InvalidArgument) as caught:
        read_items([line], CHAT)
    assert "line 1: body.retrieval: not in batches" in caught.value.message
