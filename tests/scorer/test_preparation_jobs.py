"""Preparation jobs on the shared job system: created queued, cancelled, failed, requeued by the reaper.

The runner runs in this process against real Redis and S3; `enqueue` only records, so each test decides when
(and whether) a worker picks the job up.
"""

from __future__ import annotations

import io
import json

import pytest
import redis as redis_lib

from services.scorer.jobs import PREPARATION, PreparationService
from services.scorer.runner import PreparationContext, PreparationRunner
from shared.errors import FailedPrecondition, InvalidArgument, NotFound
from shared.files import FileService
from shared.jobs.reaper import requeue_orphans
from shared.jobs.records import JobStatus
from shared.jobs.store import JobStore
from shared.schemas.preparation import PreparationInput, PreparationOptions, PreparationRecord

LINE = "Original letters and field notes from 1851, lab notebook entry {i}, observed by hand."


@pytest.fixture
def jobs(redis_client: redis_lib.Redis) -> JobStore[PreparationRecord]:
    return JobStore(redis_client, PREPARATION)


@pytest.fixture
def queued() -> list[str]:
    return []


@pytest.fixture
def service(jobs: JobStore[PreparationRecord], files_service: FileService, queued: list[str]) -> PreparationService:
    return PreparationService(jobs, files_service, queued.append)


@pytest.fixture
def runner(jobs: JobStore[PreparationRecord], files_service: FileService) -> PreparationRunner:
    return PreparationRunner(PreparationContext(store=jobs, files=files_service, holder="test", lease_ttl_s=5))


def _raw(files: FileService, lines: list[str]) -> PreparationInput:
    stream = io.BytesIO("\n".join(lines).encode())
    return PreparationInput(file_id=files.upload(owner="alice", filename="r.jsonl", purpose="raw", stream=stream).id)


def _lines(n: int) -> list[str]:
    return [json.dumps({"text": LINE.format(i=i)}) for i in range(n)]


def test_a_job_is_queued_then_run_once(
    service: PreparationService, runner: PreparationRunner, files_service: FileService, queued: list[str]
) -> None:
    job = service.create("alice", [_raw(files_service, _lines(20))], PreparationOptions(min_length=20))
    assert job.status == JobStatus.QUEUED and queued == [job.id]
    runner.run(job.id)
    runner.run(job.id)  # a redelivery of a finished job does nothing
    done = service.get("alice", job.id)
    assert done.status == JobStatus.SUCCEEDED and done.progress.stage == "done" and done.started_at
    assert done.report is not None and done.report["split"]["train"] + done.report["split"]["val"] > 0
    assert [j.status for j in service.watch("alice", job.id)] == [JobStatus.SUCCEEDED]


def test_a_job_cancelled_before_a_worker_starts_it_ends_cancelled_without_outputs(
    service: PreparationService, runner: PreparationRunner, files_service: FileService
) -> None:
    job = service.create("alice", [_raw(files_service, _lines(5))], PreparationOptions(min_length=20))
    assert service.cancel("alice", job.id).status == JobStatus.CANCELLING
    runner.run(job.id)
    ended = service.get("alice", job.id)
    assert ended.status == JobStatus.CANCELLED and ended.train_file is None
    with pytest.raises(FailedPrecondition):
        service.cancel("alice", job.id)


def test_a_bad_line_under_strict_fails_the_job_naming_it(
    service: PreparationService, runner: PreparationRunner, files_service: FileService
) -> None:
    job = service.create(
        "alice", [_raw(files_service, [*_lines(3), "{}"])], PreparationOptions(min_length=20, strict=True)
    )
    runner.run(job.id)
    failed = service.get("alice", job.id)
    assert failed.status == JobStatus.FAILED and failed.error is not None and failed.train_file is None
    assert "line 4" in failed.error.message


def test_inputs_are_checked_before_a_job_exists(
    service: PreparationService, files_service: FileService, queued: list[str]
) -> None:
    with pytest.raises(InvalidArgument) as info:
        service.create("alice", [], PreparationOptions())
    assert info.value.param == "inputs"
    scored = files_service.upload(owner="alice", filename="s.jsonl", purpose="assistants", stream=io.BytesIO(b"{}"))
    with pytest.raises(InvalidArgument) as info:
        service.create("alice", [PreparationInput(file_id=scored.id)], PreparationOptions())
    assert info.value.param == "inputs[0].file_id" and queued == []


def test_the_reaper_requeues_a_running_job_whose_worker_died(
    service: PreparationService, jobs: JobStore[PreparationRecord], files_service: FileService, queued: list[str]
) -> None:
    job = service.create("alice", [_raw(files_service, _lines(5))], PreparationOptions(min_length=20))

    def running(record: PreparationRecord) -> None:
        record.status = JobStatus.RUNNING

    jobs.update(job.id, running)
    assert jobs.acquire_lease(job.id, "worker-1", 5)
    assert requeue_orphans(jobs, queued.append) == []  # the lease is held: the worker is alive
    jobs.release_lease(job.id, "worker-1")
    assert requeue_orphans(jobs, queued.append) == [job.id]
    assert service.get("alice", job.id).status == JobStatus.QUEUED and queued == [job.id, job.id]
    assert "resumes from the start" in jobs.events(job.id)[-1].message


def test_a_rerun_removes_the_outputs_a_dead_run_stored(
    service: PreparationService,
    jobs: JobStore[PreparationRecord],
    runner: PreparationRunner,
    files_service: FileService,
    queued: list[str],
) -> None:
    job = service.create("alice", [_raw(files_service, _lines(20))], PreparationOptions(min_length=20))
    left_over = files_service.upload(owner="alice", filename="train.jsonl", purpose="raw", stream=io.BytesIO(b"{}"))

    def died_while_writing(record: PreparationRecord) -> None:
        record.status = JobStatus.RUNNING
        record.started_at = 1
        record.train_file = left_over.id

    jobs.update(job.id, died_while_writing)
    assert requeue_orphans(jobs, queued.append) == [job.id]
    runner.run(job.id)
    done = service.get("alice", job.id)
    assert done.status == JobStatus.SUCCEEDED and done.train_file not in (None, left_over.id)
    with pytest.raises(NotFound):
        files_service.get(owner="alice", file_id=left_over.id)
