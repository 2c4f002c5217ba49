"""The job life shared by fine-tuning, evaluation and export jobs: stores per kind, leases, endings."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import redis as redis_lib

from services.trainer.jobs.kinds import EVALUATION, EXPORT
from services.trainer.jobs.records import EvalRecord, ExportRecord
from shared.errors import InvalidArgument, NotFound, Unavailable
from shared.jobs import lifecycle
from shared.jobs.reaper import requeue_orphans
from shared.jobs.records import EventRecord, JobStatus
from shared.jobs.store import JobStore
from shared.log import current_context, log_context
from shared.schemas.evaluation import EvalSummary


def _eval(owner: str = "alice") -> EvalRecord:
    return EvalRecord(owner=owner, models=["m"], tasks=[{"type": "suite", "name": "suite"}], seed=1)


def test_each_kind_has_its_own_ids_keys_and_errors(redis_client: redis_lib.Redis) -> None:
    evals, exports = JobStore(redis_client, EVALUATION), JobStore(redis_client, EXPORT)
    record = evals.create(_eval())
    assert record.id.startswith("eval-") and evals.get_owned(record.id, "alice").models == ["m"]
    with pytest.raises(NotFound) as missing:
        exports.get_owned(record.id, "alice")
    assert missing.value.param == "export_id" and "export job" in missing.value.message
    with pytest.raises(NotFound) as other_owner:
        evals.get_owned(record.id, "bob")
    assert other_owner.value.param == "eval_id"
    export = exports.create(ExportRecord(owner="alice", model="ft:a", base_model="a", output_model="b", options={}))
    assert export.id.startswith("export-")
    page, more = evals.list_owned("alice", after=None, limit=10)
    assert [r.id for r in page] == [record.id] and not more


def test_run_leased_records_how_the_body_ended(redis_client: redis_lib.Redis) -> None:
    store = JobStore(redis_client, EVALUATION)

    def refuse(record: EvalRecord, lost: threading.Event) -> None:
        lifecycle.start(store, record.id, "started")
        raise InvalidArgument("tasks[0].file: bad line 3", param="tasks[0].file", code="bad_file")

    def crash(record: EvalRecord, lost: threading.Event) -> None:
        raise RuntimeError("boom")

    def succeed(record: EvalRecord, lost: threading.Event) -> None:
        lifecycle.finish(
            store,
            record.id,
            JobStatus.SUCCEEDED,
            "done",
            mutate=lambda r: setattr(r, "summary", EvalSummary(models=["m"])),
        )

    outcomes = {}
    for name, body in (("refuse", refuse), ("crash", crash), ("succeed", succeed)):
        record = store.create(_eval())
        lifecycle.run_leased(store, record.id, holder="w1", lease_ttl_s=5, body=body)
        outcomes[name] = store.get(record.id)
        assert store.lease_holder(record.id) is None  # released
    assert outcomes["refuse"].status == JobStatus.FAILED and outcomes["refuse"].error.param == "tasks[0].file"
    assert outcomes["refuse"].started_at is not None
    assert outcomes["crash"].error.code == "internal_error" and "boom" in outcomes["crash"].error.message
    assert outcomes["succeed"].status == JobStatus.SUCCEEDED and outcomes["succeed"].summary == EvalSummary(
        models=["m"]
    )
    assert store.events(outcomes["succeed"].id)[-1].status == JobStatus.SUCCEEDED


def test_a_held_or_finished_job_is_not_run_twice(redis_client: redis_lib.Redis) -> None:
    store = JobStore(redis_client, EVALUATION)
    record = store.create(_eval())
    ran: list[str] = []
    assert store.acquire_lease(record.id, "other-worker", 30)
    lifecycle.run_leased(store, record.id, holder="w1", lease_ttl_s=5, body=lambda r, lost: ran.append(r.id))
    assert ran == [] and store.lease_holder(record.id) == "other-worker"
    store.release_lease(record.id, "other-worker")
    lifecycle.finish(store, record.id, JobStatus.CANCELLED, "cancelled")
    lifecycle.run_leased(store, record.id, holder="w1", lease_ttl_s=5, body=lambda r, lost: ran.append(r.id))
    assert ran == []


def test_an_update_and_its_event_land_together_or_not_at_all(redis_client: redis_lib.Redis) -> None:
    """What keeps a resumed job's steps and metrics events monotonic: the event rides the update's transaction."""
    store = JobStore(redis_client, EVALUATION)
    job = store.create(_eval())

    def advance(step: int) -> Callable[[EvalRecord], EventRecord | None]:
        def mutate(record: EvalRecord) -> EventRecord | None:
            if step <= record.seed:
                return None
            record.seed = step
            return EventRecord(message=f"step {step}", type="metrics", data={"step": step})

        return mutate

    for step in (2, 3, 4, 3, 4, 5):  # 3 and 4 again: a resume from an earlier checkpoint
        store.update_with_event(job.id, advance(step))
    assert [e.data["step"] for e in store.events(job.id)] == [2, 3, 4, 5]
    assert store.get(job.id).seed == 5


def test_the_worker_runs_a_job_in_its_creating_requests_log_context(redis_client: redis_lib.Redis) -> None:
    """One request id from the gateway to the worker: a job remembers it, and its run logs with it."""
    store = JobStore(redis_client, EVALUATION)
    with log_context(request_id="req_trace_1"):
        record = store.create(_eval())
    assert record.request_id == "req_trace_1"
    seen: dict[str, object] = {}

    def body(job: EvalRecord, lost: threading.Event) -> None:
        seen.update(current_context())
        lifecycle.finish(store, job.id, JobStatus.SUCCEEDED, "done")

    lifecycle.run_leased(store, record.id, holder="w1", lease_ttl_s=5, body=body)
    assert seen["request_id"] == "req_trace_1" and seen["job_id"] == record.id
    # The worker's events carry it too (the event a worker records outside any request has none).
    assert [e.request_id for e in store.events(record.id)][-1] == "req_trace_1"
    assert store.add_event(record.id, EventRecord(message="later")).request_id is None


def test_an_outage_leaves_the_job_to_resume_and_too_many_fail_it(redis_client: redis_lib.Redis) -> None:
    """A backend down mid-job (a checkpoint write refused): the lease is given back, the reaper queues the job
    again to resume; past MAX_OUTAGES the job fails naming the backend."""
    store = JobStore(redis_client, EVALUATION)
    record = store.create(_eval())
    queued: list[str] = []

    def body(job: EvalRecord, lost: threading.Event) -> None:
        lifecycle.start(store, job.id, "started")
        raise Unavailable("object storage is unreachable while uploading checkpoints/x", code="storage_unavailable")

    for outage in range(1, lifecycle.MAX_OUTAGES + 1):
        lifecycle.run_leased(store, record.id, holder="w1", lease_ttl_s=5, body=body)
        job = store.get(record.id)
        assert job is not None and job.status == JobStatus.RUNNING and store.lease_holder(record.id) is None
        assert "resumes from its last checkpoint" in store.events(record.id)[-1].message
        assert requeue_orphans(store, queued.append) == [record.id] and len(queued) == outage
    lifecycle.run_leased(store, record.id, holder="w1", lease_ttl_s=5, body=body)
    failed = store.get(record.id)
    assert failed is not None and failed.status == JobStatus.FAILED and failed.error is not None
    assert failed.error.code == "storage_unavailable" and "giving up" in failed.error.message
