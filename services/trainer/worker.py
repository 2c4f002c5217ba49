"""The Celery application that runs training work: Redis broker, late acks, one task at a time per worker.

Run a worker with `celery -A services.trainer.worker worker --pool solo --queues training`.
"""

from __future__ import annotations

from celery import Celery

from services.trainer.config import TrainerSettings
from shared.settings import load_settings

QUEUE = "training"


def create_celery(redis_url: str) -> Celery:
    app = Celery("distrust-trainer", broker=redis_url, backend=redis_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_track_started=True,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        result_expires=7 * 24 * 3600,
    )
    return app


celery_app = create_celery(load_settings(TrainerSettings).redis.url.get_secret_value())
app = celery_app
