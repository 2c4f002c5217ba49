"""One rank of a data-parallel job, as the process its worker starts (MLX joins one distributed group per process).

    python -m services.trainer.jobs.rank_process JOB_ID RANK ATTEMPT HOST0:PORT,HOST1:PORT,…

Exit 0: the rank ran to the job's end (rank 0 recorded it; a job error is recorded as the job failing). Any other
exit: the group restarts from the last checkpoint.
"""

from __future__ import annotations

import logging
import sys

logger = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    """Join the group and train the job's rank; the exit code says whether the group must restart."""
    job_id, rank, attempt, hosts = argv[0], int(argv[1]), int(argv[2]), argv[3].split(",")
    from services.trainer.core import distributed
    from services.trainer.worker import _runners, settings
    from shared.errors import DistrustError
    from shared.jobs import lifecycle

    runner = _runners().train
    group = distributed.join(hosts, rank, settings.resolved_cache_dir / "gangs" / f"{job_id}-{attempt}-{rank}")
    try:
        runner.run_rank(job_id, group)
    except DistrustError as exc:
        if rank == 0:  # the same data and settings fail every rank alike: the job fails, once, with the reason
            lifecycle.fail(runner.store, job_id, exc.code, exc.message, exc.param)
            return 0
        runner.ctx.store.fail_gang(job_id, attempt, f"rank {rank}: {exc.message}")
        return 3
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
