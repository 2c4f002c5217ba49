"""A job's events over HTTP, for every kind of job: a newest-first page, or server-sent events while it runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from fastapi.responses import StreamingResponse

from services.gateway.schemas.common import ListResponse
from services.gateway.schemas.fine_tuning import FineTuningJobEvent
from services.gateway.trainer_client import EventStream


class Events(Protocol):
    """A client's `events` method: one job's events, from `after_sequence`, followed live with `follow`."""

    def __call__(self, owner: str, job_id: str, /, *, after_sequence: int, follow: bool) -> EventStream: ...


async def events_response(
    events: Events, owner: str, job_id: str, *, after: str | None, limit: int, stream: bool
) -> ListResponse[FineTuningJobEvent] | StreamingResponse:
    """`events(owner, job_id, after_sequence=, follow=)` as OpenAI's event list, or as SSE with `stream`."""
    if stream:
        followed = events(owner, job_id, after_sequence=0, follow=True)
        try:
            # Every job has its creation event: taking it now turns an unknown or foreign job into a 404, not a 200.
            first = await followed.first()
        except BaseException:
            followed.cancel()
            raise
        return StreamingResponse(
            _sse(first, followed),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )
    page = (await events(owner, job_id, after_sequence=0, follow=False).collect())[::-1]  # newest first, as OpenAI
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


def _frame(event: FineTuningJobEvent) -> bytes:
    return f"id: {event.sequence}\nevent: {event.type}\ndata: {event.model_dump_json()}\n\n".encode()


async def _sse(first: FineTuningJobEvent | None, events: EventStream) -> AsyncIterator[bytes]:
    # The stream is cancelled on the trainer when the client goes away, not left to poll for a reader.
    try:
        if first is not None:
            yield _frame(first)
            async for event in events:
                yield _frame(event)
        yield b"data: [DONE]\n\n"
    finally:
        events.cancel()
