"""Celery over Redis for job workers: late acks and one job at a time, so a dead worker's job is redelivered."""

from __future__ import annotations

from collections.abc import Callable

from celery import Celery
from celery.signals import worker_init

from shared.settings import LogSettings


def create_celery(name: str, redis_url: str, queue: str) -> Celery:
    """A Celery app whose tasks go to `queue` unless sent elsewhere."""
    app = Celery(name, broker=redis_url, backend=redis_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queue,
        task_track_started=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        result_expires=7 * 24 * 3600,
    )
    return app


def celery_enqueue(app: Celery, task: str, queue: str) -> Callable[[str], None]:
    """A function that queues `task(job_id)` on `queue`."""

    def enqueue(job_id: str) -> None:
        app.send_task(task, args=[job_id], queue=queue)

    return enqueue


def log_when_started(log: LogSettings, service: str) -> None:
    """Configure structured logging as `service` when this process starts as a Celery worker."""

    def configure(**_kwargs: object) -> None:
        from shared.log import configure_logging

        configure_logging(log, service=service)

    worker_init.connect(configure, weak=False)  # a closure: a weak reference would drop it at once
