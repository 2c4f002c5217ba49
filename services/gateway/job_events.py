"""A job's events over HTTP, for every kind of job: a newest-first page, or server-sent events while it runs."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

from fastapi.responses import StreamingResponse

Events = Callable[..., Iterator[dict[str, Any]]]


def events_response(
    events: Events, owner: str, job_id: str, *, after: str | None, limit: int, stream: bool
) -> dict[str, Any] | StreamingResponse:
    """`events(owner, job_id, after_sequence=, follow=)` as OpenAI's event list, or as SSE with `stream`."""
    if stream:
        followed = iter(events(owner, job_id, after_sequence=0, follow=True))
        # Every job has its creation event: taking it now turns an unknown or foreign job into a 404, not a 200.
        first = next(followed, None)
        return StreamingResponse(
            _sse(first, followed),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    page = list(events(owner, job_id, after_sequence=0, follow=False))[::-1]  # newest first, as OpenAI
    if after:
        ids = [e["id"] for e in page]
        page = page[ids.index(after) + 1 :] if after in ids else []
    return {"object": "list", "data": page[:limit], "has_more": len(page) > limit}


def _sse(first: dict[str, Any] | None, events: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for event in itertools.chain([first] if first is not None else [], events):
        yield f"id: {event['sequence']}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
    yield b"data: [DONE]\n\n"
