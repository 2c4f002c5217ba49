"""A job's events over HTTP, for every kind of job: a newest-first page, or server-sent events while it runs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from fastapi.responses import StreamingResponse

from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.fine_tuning import FineTuningJobEvent

Events = Callable[..., Iterator[FineTuningJobEvent]]


def events_response(
    events: Events, owner: str, job_id: str, *, after: str | None, limit: int, stream: bool
) -> ListResponse[FineTuningJobEvent] | StreamingResponse:
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
        ids = [e.id for e in page]
        page = page[ids.index(after) + 1 :] if after in ids else []
    data = page[:limit]
    return ListResponse(
        data=data,
        has_more=len(page) > limit,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
    )


def _sse(first: FineTuningJobEvent | None, events: Iterator[FineTuningJobEvent]) -> Iterator[bytes]:
    for event in itertools.chain([first] if first is not None else [], events):
        yield f"id: {event.sequence}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n".encode()
    yield b"data: [DONE]\n\n"
