"""Fine-tuning jobs: records and events in Redis, runs on Celery workers, checkpoints in the object store."""
