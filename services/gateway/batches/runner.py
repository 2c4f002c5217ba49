"""Running a batch on a worker: its requests through the inference engine, many at once; the answers kept per line.

Each finished request's output line is recorded at once (`results.py`), so a batch whose worker dies resumes with
the requests not yet answered. The batch stops early when cancelled, when its completion window closes, or when
another worker takes it over; then its output and error files are written in the input's order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from services.gateway import replies
from services.gateway.batches.lines import BatchItem, read_items
from services.gateway.batches.records import BatchRecord
from services.gateway.batches.results import BatchResults
from services.gateway.error_mapping import http_status_for
from services.gateway.inference_client import Inference
from services.gateway.replicas import InferenceRouter, targets_of
from services.gateway.schemas.chat import ChatCompletionRequest
from services.gateway.schemas.completions import CompletionRequest
from shared.errors import DistrustError, Unavailable
from shared.files import FileService, Purpose
from shared.jobs import lifecycle
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore
from shared.pb.distrust.inference.v1 import inference_pb2 as pb
from shared.storage import Bucket

logger = logging.getLogger(__name__)

Stop = Literal["cancelled", "expired", "lost"]
OutputLine = dict[str, Any]  # open: OpenAI's batch output line, its body an endpoint's response


@dataclass
class BatchContext:
    """What a worker gives the runner."""

    store: JobStore[BatchRecord]
    files: FileService
    results: type[BatchResults]
    inference_target: str
    cache_dir: Path
    holder: str
    concurrency: int = 48
    lease_ttl_s: int = 30
    progress_interval_s: float = 1.0


def _line(item: BatchItem, status_code: int, body: dict[str, Any]) -> OutputLine:
    request_id = "req_" + secrets.token_hex(12)
    response = {"status_code": status_code, "request_id": request_id, "body": body}
    return {
        "id": "batch_req_" + secrets.token_hex(12),
        "custom_id": item.custom_id,
        "response": response,
        "error": None,
    }


def _unrun(item: BatchItem, stop: Stop) -> OutputLine:
    message = (
        "the batch was cancelled before this request ran"
        if stop == "cancelled"
        else ("the batch's completion window closed before this request ran")
    )
    error = {"code": f"batch_{stop}", "message": message}
    return {"id": "batch_req_" + secrets.token_hex(12), "custom_id": item.custom_id, "response": None, "error": error}


async def answer(inference: Inference, owner: str, item: BatchItem) -> tuple[bool, OutputLine]:
    """One request's output line: the endpoint's response, or its error with the HTTP status it would have had.

    An unavailable inference service is raised, not recorded: the batch resumes once the service is back.
    """
    body = item.body
    try:
        if isinstance(body, ChatCompletionRequest):
            reply: Any = await replies.chat_completion(inference, owner, body)
        elif isinstance(body, CompletionRequest):
            reply = await replies.completion(inference, owner, body)
        else:
            reply = await replies.embeddings(inference, owner, body)
    except Unavailable:
        raise
    except DistrustError as exc:
        return False, _line(item, http_status_for(exc), {"error": dict(exc.to_dict())})
    return True, _line(item, 200, reply.model_dump(mode="json", by_alias=True))


class BatchRunner(lifecycle.LeasedRunner[BatchContext]):
    """Runs one leased batch to its end."""

    ctx: BatchContext

    def _run(self, queued: BatchRecord, lost: threading.Event) -> None:
        workdir = self.ctx.cache_dir / "batches" / queued.id
        job: BatchRecord | None = lifecycle.begin(self.store, queued.id, "Batch started", workdir)
        if job is None:
            return
        source = self.ctx.files.get(owner=job.owner, file_id=job.input_file_id)
        items = read_items(self.ctx.files.store.iter_lines(Bucket.FILES, source.storage_key), job.endpoint)
        results = self.ctx.results(self.store.redis, job.id)
        done = results.finished()
        pending = [item for item in items if item.custom_id not in done]
        if done:
            self.store.add_event(job.id, EventRecord(message=f"Resumed with {len(done)} requests answered"))
        stop = asyncio.run(self._execute(job, pending, results, lost, total=len(items)))
        if stop == "lost":
            return  # another worker owns the batch now and continues it
        self._finalize(job, items, results, stop, workdir)

    def _stop(self, job: BatchRecord, lost: threading.Event) -> Stop | None:
        if lost.is_set():
            return "lost"
        if self.store.cancel_requested(job.id):
            return "cancelled"
        return "expired" if time.time() >= job.expires_at else None

    def _count(self, job_id: str, results: BatchResults, total: int) -> None:
        completed, failed = results.counts()

        def mark(record: BatchRecord) -> None:
            record.request_counts.total, record.request_counts.completed = total, completed
            record.request_counts.failed = failed

        self.store.update(job_id, mark)

    async def _execute(
        self, job: BatchRecord, pending: list[BatchItem], results: BatchResults, lost: threading.Event, *, total: int
    ) -> Stop | None:
        inference = InferenceRouter(targets_of(self.ctx.inference_target), priority=pb.PRIORITY_BATCH)
        queue = iter(pending)
        stop: list[Stop] = []
        failure: list[BaseException] = []

        async def work() -> None:
            for item in queue:
                if stop or failure:
                    return
                try:
                    ok, line = await answer(inference, job.owner, item)
                except BaseException as exc:
                    failure.append(exc)
                    return
                await asyncio.to_thread(results.record, item.custom_id, line, ok=ok)

        async def watch(workers: asyncio.Future[list[None]]) -> None:
            while not workers.done():
                reason = await asyncio.to_thread(self._stop, job, lost)
                if reason and not stop:
                    stop.append(reason)
                await asyncio.to_thread(self._count, job.id, results, total)
                await asyncio.wait([workers], timeout=self.ctx.progress_interval_s)

        try:
            workers = asyncio.gather(*(work() for _ in range(self.ctx.concurrency)))
            await asyncio.gather(workers, watch(workers))
        finally:
            await inference.close()
        if failure:
            raise failure[0]
        self._count(job.id, results, total)
        return stop[0] if stop else None

    def _finalize(
        self, job: BatchRecord, items: list[BatchItem], results: BatchResults, stop: Stop | None, workdir: Path
    ) -> None:
        now = int(time.time())
        self.store.update(job.id, lambda r: setattr(r, "finalizing_at", now))
        answered = results.all()
        outputs: list[OutputLine] = []
        errors: list[OutputLine] = []
        for item in items:
            if item.custom_id in answered:
                ok, line = answered[item.custom_id]
                (outputs if ok else errors).append(line)
            else:
                errors.append(_unrun(item, stop or "cancelled"))
        output_id = self._write(job, workdir, "output", outputs)
        error_id = self._write(job, workdir, "errors", errors)
        status = JobStatus.CANCELLED if stop == "cancelled" else JobStatus.SUCCEEDED

        def done(record: BatchRecord) -> None:
            record.output_file_id, record.error_file_id = output_id, error_id
            record.request_counts.failed = len(errors)
            record.request_counts.completed = len(outputs)
            if stop == "expired":
                record.expired_at = now

        message = {
            None: f"Batch completed: {len(outputs)} answered, {len(errors)} failed",
            "expired": f"Batch expired: {len(outputs)} answered before its completion window closed",
            "cancelled": f"Batch cancelled: {len(outputs)} answered before the cancel",
        }[stop]
        lifecycle.finish(self.store, job.id, status, message, done)
        results.clear()

    def _write(self, job: BatchRecord, workdir: Path, kind: str, lines: list[OutputLine]) -> str | None:
        """A file of `lines` (purpose `batch_output`) for the batch's owner; None when there is nothing to write."""
        if not lines:
            return None
        path = workdir / f"{job.id}_{kind}.jsonl"
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        return self.ctx.files.create_from_path(
            owner=job.owner, filename=path.name, purpose=Purpose.BATCH_OUTPUT, path=path
        ).id
