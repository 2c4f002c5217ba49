"""Starting and watching the ranks of a data-parallel job: one Celery message per rank, one worker per rank.

The worker that takes rank 0 holds the job's lease, opens a new group (`attempt`) and waits for the others; each
rank claims its place with its address, then every worker starts its rank as a child process (MLX joins one
distributed group per process) and watches the group: all ranks beat every second. When any rank's process
fails, or its worker stops beating, every rank stops its child, and rank 0 queues the whole group again: all ranks
resume from the job's last checkpoint (after `MAX_ATTEMPTS` starts the job fails instead). A worker killed with
its child (kill -9) is noticed the same way; if it held rank 0, its lapsed lease queues the group again.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.trainer.jobs.kinds import FineTuningStore
from services.trainer.jobs.records import JobRecord
from shared.jobs import lifecycle
from shared.jobs.records import TERMINAL, EventRecord, JobStatus
from shared.jobs.store import status_event

logger = logging.getLogger(__name__)
BEAT_S = 1.0
ALIVE_TTL_S = 6  # a rank not heard of for this long is gone
MAX_ATTEMPTS = 3
Spawn = Callable[[str, int, int, list[str]], subprocess.Popen[bytes]]  # (job, rank, attempt, hosts) -> its process


@dataclass
class GangContext:
    """What a worker needs to take part in groups of ranks.

    The job store, its lease identity, its address, how to spawn a rank's process and how to queue a group again.
    """

    store: FineTuningStore
    holder: str
    lease_ttl_s: int
    advertise_host: str
    timeout_s: float
    cache_dir: Path
    spawn: Spawn
    enqueue: Callable[[str], None]


def free_address(host: str) -> str:
    """`host:port` with a port free on this machine now."""
    with socket.socket() as sock:
        sock.bind(("", 0))
        return f"{host}:{sock.getsockname()[1]}"


class Gang:
    """One worker's part in a data-parallel job: rank 0 leads the group, the other ranks follow it."""

    def __init__(self, ctx: GangContext) -> None:
        self.ctx = ctx
        self.store = ctx.store

    def run(self, job_id: str, rank: int) -> None:
        """Take part in the job's group as `rank` (rank 0: under the job's lease); safe to call twice."""
        if rank == 0:
            restart: list[str] = []
            lifecycle.run_leased(
                self.store,
                job_id,
                holder=self.ctx.holder,
                lease_ttl_s=self.ctx.lease_ttl_s,
                body=lambda job, lost: self._lead(job, lost, restart),
            )
            if restart:  # queued only once the lease is given back, so the next rank 0 can take it
                self.ctx.enqueue(job_id)
        else:
            self._follow(job_id, rank)

    def _lead(self, queued: JobRecord, lost: threading.Event, restart: list[str]) -> None:
        assert queued.distributed is not None
        hosts = queued.distributed.hosts
        if self.store.pause_requested(queued.id) and not self.store.cancel_requested(queued.id):
            if queued.status != JobStatus.PAUSED:
                self.store.mark_paused(queued.id, "Paused before its ranks started again")
            return
        workdir = self.ctx.cache_dir / "jobs" / queued.id
        message = f"Data-parallel job started on {hosts} workers (rank 0: {self.ctx.holder})"
        if lifecycle.begin(self.store, queued.id, message, workdir, worker=self.ctx.holder) is None:
            return
        attempt = self.store.open_gang(queued.id)
        addresses = self._gather(queued.id, attempt, 0, hosts)
        if addresses is None:
            reason = f"not all {hosts} ranks joined within {self.ctx.timeout_s:g} s"
        else:
            code, reason = self._supervise(queued.id, attempt, 0, addresses, lost)
            if code == 0 or lost.is_set():
                return  # rank 0's process ended the job (succeeded, failed, paused or cancelled)
        self.store.fail_gang(queued.id, attempt, reason)
        self._requeue(queued.id, attempt, reason, restart)

    def _requeue(self, job_id: str, attempt: int, reason: str, restart: list[str]) -> None:
        job = self.store.get(job_id)
        if job is None or job.status in TERMINAL:
            return
        if attempt >= MAX_ATTEMPTS:
            lifecycle.fail(
                self.store, job_id, "group_failed", f"the group of ranks failed {attempt} times: {reason}", None
            )
            return
        where, step = self.store.resume_note(job_id)

        def back_to_queue(record: JobRecord) -> EventRecord:
            record.status = JobStatus.QUEUED
            return status_event(
                f"{reason}: every rank restarts from {where}", JobStatus.QUEUED, level="warn", step=step
            )

        self.store.update_with_event(job_id, back_to_queue)
        restart.append(reason)
        logger.warning("data-parallel group restarts", extra={"job_id": job_id, "attempt": attempt, "reason": reason})

    def _follow(self, job_id: str, rank: int) -> None:
        deadline = time.monotonic() + self.ctx.timeout_s
        attempt = None
        while attempt is None and time.monotonic() < deadline:
            job = self.store.get(job_id)
            if job is None or job.status in TERMINAL or job.distributed is None:
                return
            current = self.store.current_gang(job_id)
            if (
                job.status == JobStatus.RUNNING
                and current is not None
                and self.store.gang_failure(job_id, current) is None
            ):
                attempt = current
            else:
                time.sleep(0.2)
        if attempt is None:
            logger.warning("no group to join", extra={"job_id": job_id, "rank": rank})
            return
        assert job is not None and job.distributed is not None
        addresses = self._gather(job_id, attempt, rank, job.distributed.hosts)
        if addresses is None:
            return
        code, reason = self._supervise(job_id, attempt, rank, addresses, threading.Event())
        if code != 0:
            self.store.fail_gang(job_id, attempt, reason)

    def _gather(self, job_id: str, attempt: int, rank: int, hosts: int) -> list[str] | None:
        """Claim `rank` and wait for every rank's address (None: the rank was taken, or the wait timed out)."""
        host = self.ctx.advertise_host
        if not self.store.claim_rank(job_id, attempt, rank, free_address(host)):
            logger.info("rank already taken", extra={"job_id": job_id, "rank": rank, "attempt": attempt})
            return None
        deadline = time.monotonic() + self.ctx.timeout_s
        while time.monotonic() < deadline:
            self.store.beat_rank(job_id, attempt, rank, ALIVE_TTL_S)
            members = self.store.gang_members(job_id, attempt)
            if len(members) == hosts:
                return [members[r] for r in range(hosts)]
            if self.store.gang_failure(job_id, attempt) is not None:
                return None
            time.sleep(0.2)
        return None

    def _supervise(
        self, job_id: str, attempt: int, rank: int, addresses: list[str], lost: threading.Event
    ) -> tuple[int, str]:
        """Run this rank's process while the group is whole; (its exit code, why it stopped early)."""
        child = self.ctx.spawn(job_id, rank, attempt, addresses)
        reason = ""
        while child.poll() is None:
            self.store.beat_rank(job_id, attempt, rank, ALIVE_TTL_S)
            failure = self.store.gang_failure(job_id, attempt)
            gone = [r for r, alive in enumerate(self.store.ranks_alive(job_id, attempt, len(addresses))) if not alive]
            job = self.store.get(job_id)
            ended = job is None or job.status in TERMINAL or job.status == JobStatus.PAUSED
            if failure is not None or (gone and not ended) or lost.is_set():
                reason = failure or (f"rank {gone[0]} stopped answering" if gone else "rank 0 lost the job's lease")
                child.kill()
                child.wait()
                return -1, reason
            if ended and rank != 0:  # rank 0 ended the job: a rank still waiting on the others has nothing to do
                child.kill()
                child.wait()
                return 0, ""
            time.sleep(BEAT_S / 2)
        if child.returncode != 0:
            reason = f"rank {rank}'s process exited with {child.returncode}"
        return child.returncode, reason
