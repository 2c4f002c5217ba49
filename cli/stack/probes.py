"""Health probes for each part of the stack; each raises when the part is not healthy."""

from __future__ import annotations

import httpx
import redis

from shared.rpc.client import check_health, open_channel
from shared.settings import StorageSettings
from shared.storage import ObjectStore


def redis_probe(url: str) -> None:
    """Raise unless Redis answers a ping."""
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def storage_probe(settings: StorageSettings) -> None:
    """Raise unless the S3 server lists its buckets."""
    ObjectStore(settings).client.list_buckets()


def grpc_probe(target: str) -> None:
    """Raise unless the gRPC server at `target` reports SERVING."""
    channel = open_channel(target)
    try:
        status = check_health(channel, timeout_s=2)
    finally:
        channel.close()
    if status != "SERVING":
        raise RuntimeError(f"health status {status}")


def http_probe(url: str) -> None:
    """Raise unless `url` answers 2xx."""
    response = httpx.get(url, timeout=2)
    response.raise_for_status()


def celery_probe(redis_url: str, host: str) -> None:
    """Raise unless a Celery worker named `<host>@...` answers a ping."""
    from celery import Celery

    app = Celery("distrust-probe", broker=redis_url)
    try:
        replies = app.control.ping(timeout=1.0)
    finally:
        app.close()
    if not any(name.startswith(f"{host}@") for reply in replies or [] for name in reply):
        raise RuntimeError(f"no Celery worker {host}@... answered a ping")
