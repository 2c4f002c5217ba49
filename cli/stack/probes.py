"""Health probes for each part of the stack; each raises when the part is not healthy."""

from __future__ import annotations

import httpx
import redis

from shared.rpc.client import check_health, open_channel
from shared.settings import StorageSettings
from shared.storage import ObjectStore


def redis_probe(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def storage_probe(settings: StorageSettings) -> None:
    ObjectStore(settings).client.list_buckets()


def grpc_probe(target: str) -> None:
    channel = open_channel(target)
    try:
        status = check_health(channel, timeout_s=2)
    finally:
        channel.close()
    if status != "SERVING":
        raise RuntimeError(f"health status {status}")


def http_probe(url: str) -> None:
    response = httpx.get(url, timeout=2)
    response.raise_for_status()


def celery_probe(redis_url: str) -> None:
    from services.trainer.worker import create_celery

    app = create_celery(redis_url)
    try:
        replies = app.control.ping(timeout=1.0)
    finally:
        app.close()
    if not replies:
        raise RuntimeError("no Celery worker answered a ping")
