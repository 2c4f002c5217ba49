"""What the local stack runs, on which ports, with which environment: built from settings and secrets."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from cli.stack import binaries, probes
from cli.stack.process import Component, Probe
from cli.stack.state import DataDir, Secrets
from services.gateway.config import GatewaySettings
from services.inference.config import InferenceSettings
from services.scorer.config import ScorerSettings
from services.trainer.config import TrainerSettings
from services.trainer.models.names import DEFAULT_MODEL_NAME, StackModel
from shared.errors import ConfigError
from shared.settings import StorageSettings, default_data_dir

HOST = "127.0.0.1"

# The setting that moves each part of the stack (a field of Ports) to another port.
PORT_SETTINGS = {
    "redis": "DISTRUST_LOCAL_REDIS_PORT",
    "storage": "DISTRUST_LOCAL_STORAGE_PORT",
    "lance": "DISTRUST_LOCAL_LANCE_PORT",
    "scorer": "DISTRUST_SCORER_PORT",
    "trainer": "DISTRUST_TRAINER_PORT",
    "inference": "DISTRUST_INFERENCE_PORT",
    "gateway": "DISTRUST_GATEWAY_PORT",
}


class LocalStackSettings(BaseSettings):
    """Ports of the stack's own Redis and S3 server, the data folder, and the base model of a fresh stack."""

    model_config = SettingsConfigDict(env_prefix="DISTRUST_LOCAL_", extra="ignore")

    data_dir: str = Field(default_factory=lambda: str(default_data_dir()), validation_alias="DISTRUST_DATA_DIR")
    redis_port: int = Field(default=16379, ge=1, le=65535)
    storage_port: int = Field(default=19000, ge=1, le=65535)
    # The proxy that gives LanceDB 206 answers from rclone (none in front of MinIO).
    lance_port: int = Field(default=19001, ge=1, le=65535)
    start_timeout_s: float = Field(default=120.0, gt=0)
    # The base model registered on first start; fast tests and benches pin the tiny random one.
    default_model: StackModel = DEFAULT_MODEL_NAME


@dataclass(frozen=True)
class Ports:
    """The local ports of every part, from the environment or the defaults."""

    redis: int
    storage: int
    scorer: int
    trainer: int
    inference: int
    gateway: int
    lance: int = 19001

    @classmethod
    def from_env(cls, local: LocalStackSettings) -> Ports:
        # The services' own settings classes own their ports (DISTRUST_SCORER_PORT, ...).
        return cls(
            local.redis_port,
            local.storage_port,
            ScorerSettings().port,
            TrainerSettings().port,
            InferenceSettings().port,
            GatewaySettings().port,
            local.lance_port,
        )


def check_ports_free(ports: Ports) -> None:
    """Raise a ConfigError naming the port and the setting to change when one is taken."""
    for name, setting in PORT_SETTINGS.items():
        port = getattr(ports, name)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is free
            try:
                sock.bind((HOST, port))
            except OSError as exc:
                raise ConfigError(
                    f"port {port} ({name}) is already in use ({exc.strerror}); set {setting} to another port",
                    param=setting,
                ) from exc


def redis_url(ports: Ports, secrets: Secrets) -> str:
    """The URL of the stack's Redis, password included."""
    return f"redis://:{secrets.redis_password}@{HOST}:{ports.redis}/0"


def service_env(data: DataDir, ports: Ports, secrets: Secrets) -> dict[str, str]:
    """The environment every service of the stack gets: Redis, S3 and the ports (the gateway adds its keys)."""
    lance = {"DISTRUST_STORAGE_LANCE_ENDPOINT": f"{HOST}:{ports.lance}"} if binaries.s3_server()[0] == "rclone" else {}
    return {
        **lance,
        "DISTRUST_DATA_DIR": str(data.root),
        "DISTRUST_STORAGE_ENDPOINT": f"{HOST}:{ports.storage}",
        "DISTRUST_STORAGE_ACCESS_KEY": secrets.storage_access_key,
        "DISTRUST_STORAGE_SECRET_KEY": secrets.storage_secret_key,
        "DISTRUST_STORAGE_SECURE": "false",
        "DISTRUST_REDIS_URL": redis_url(ports, secrets),
        "DISTRUST_SCORER_HOST": HOST,
        "DISTRUST_SCORER_PORT": str(ports.scorer),
        "DISTRUST_TRAINER_HOST": HOST,
        "DISTRUST_TRAINER_PORT": str(ports.trainer),
        "DISTRUST_INFERENCE_HOST": HOST,
        "DISTRUST_INFERENCE_PORT": str(ports.inference),
        "DISTRUST_GATEWAY_HOST": HOST,
        "DISTRUST_GATEWAY_PORT": str(ports.gateway),
        "DISTRUST_GATEWAY_SCORER_TARGET": f"{HOST}:{ports.scorer}",
        "DISTRUST_GATEWAY_TRAINER_TARGET": f"{HOST}:{ports.trainer}",
        "DISTRUST_GATEWAY_INFERENCE_TARGET": f"{HOST}:{ports.inference}",
        "DISTRUST_BATCH_INFERENCE_TARGET": f"{HOST}:{ports.inference}",
        "DISTRUST_VECTORS_INFERENCE_TARGET": f"{HOST}:{ports.inference}",
        "DISTRUST_TRAINER_INFERENCE_TARGET": f"{HOST}:{ports.inference}",
        "DISTRUST_VECTORS_SCORER_TARGET": f"{HOST}:{ports.scorer}",
        "PYTHONUNBUFFERED": "1",
    }


def storage_settings(ports: Ports, secrets: Secrets) -> StorageSettings:
    """The settings of the stack's S3 server."""
    return StorageSettings(
        endpoint=f"{HOST}:{ports.storage}",
        access_key=secrets.storage_access_key,
        secret_key=secrets.storage_secret_key,
        secure=False,
    )


def redis_component(port: int, directory: str, password: str) -> Component:
    """Redis with append-only persistence in `directory`, reachable only with `password`."""
    # The password goes in a 0600 config file, not the command line that `ps` shows everyone.
    config = Path(directory) / "redis-auth.conf"
    config.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f'requirepass "{password}"\n')
    argv = [
        str(binaries.redis_server()),
        str(config),
        "--port",
        str(port),
        "--bind",
        HOST,
        "--dir",
        directory,
        "--appendonly",
        "yes",
        "--save",
        "60 1",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
    ]
    return Component(
        "redis",
        argv,
        lambda: probes.redis_probe(f"redis://:{password}@{HOST}:{port}/0"),
        port=port,
        port_setting=PORT_SETTINGS["redis"],
    )


def storage_component(port: int, directory: str, settings: StorageSettings) -> Component:
    """An S3 server (rclone) over `directory`, with the stack's keys."""
    kind, path = binaries.s3_server()
    access = settings.access_key.get_secret_value() if settings.access_key else ""
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if kind == "minio":
        argv = [str(path), "server", directory, "--address", f"{HOST}:{port}", "--quiet"]
        env = {"MINIO_ROOT_USER": access, "MINIO_ROOT_PASSWORD": secret, "MINIO_BROWSER": "off"}
    else:
        argv = [
            str(path),
            "serve",
            "s3",
            directory,
            "--addr",
            f"{HOST}:{port}",
            "--config",
            "/dev/null",
            "--log-level",
            "NOTICE",
        ]
        # rclone reads any flag from RCLONE_<FLAG> (a list flag as CSV, hence the quotes), out of `ps`.
        pair = f"{access},{secret}".replace('"', '""')
        env = {"RCLONE_AUTH_KEY": f'"{pair}"'}
    return Component(
        "storage",
        argv,
        lambda: probes.storage_probe(settings),
        env=env,
        port=port,
        port_setting=PORT_SETTINGS["storage"],
    )


def lance_proxy_component(port: int, settings: StorageSettings) -> Component:
    """The proxy in front of rclone that LanceDB talks to (cli/stack/s3_ranges.py)."""
    argv = [
        sys.executable,
        "-m",
        "cli.stack.s3_ranges",
        "--port",
        str(port),
        "--upstream",
        f"http://{settings.endpoint}",
    ]
    through = settings.model_copy(update={"endpoint": f"{HOST}:{port}"})
    return Component(
        "lance-proxy", argv, lambda: probes.storage_probe(through), port=port, port_setting=PORT_SETTINGS["lance"]
    )


def infrastructure(data: DataDir, ports: Ports, secrets: Secrets) -> list[Component]:
    """What the services need first: Redis and S3 (with rclone, the proxy LanceDB reads it through)."""
    settings = storage_settings(ports, secrets)
    parts = [
        redis_component(ports.redis, str(data.redis), secrets.redis_password),
        storage_component(ports.storage, str(data.objects), settings),
    ]
    if binaries.s3_server()[0] == "rclone":
        parts.append(lance_proxy_component(ports.lance, settings))
    return parts


def services(data: DataDir, ports: Ports, secrets: Secrets) -> list[Component]:
    """The services and their workers, in start order; the gateway last."""
    env = service_env(data, ports, secrets)
    url = redis_url(ports, secrets)
    # Everything shares this machine and the default model is small: one OpenBLAS thread (see blas_threads).
    inference_env = {**env, "DISTRUST_INFERENCE_BLAS_THREADS": os.environ.get("DISTRUST_INFERENCE_BLAS_THREADS", "1")}
    # Least privilege: the API keys and the key-hashing secret only where keys are checked.
    gateway_env = {
        **env,
        "DISTRUST_GATEWAY_API_KEYS": f"{secrets.api_key}=local",
        "DISTRUST_GATEWAY_KEY_SECRET": secrets.key_secret,
    }
    return [
        _service("scorer", ports, env, lambda: probes.grpc_probe(f"{HOST}:{ports.scorer}")),
        _service("trainer", ports, env, lambda: probes.grpc_probe(f"{HOST}:{ports.trainer}")),
        _service("inference", ports, inference_env, lambda: probes.grpc_probe(f"{HOST}:{ports.inference}")),
        celery_worker("worker", "services.trainer.worker", "training", "trainer", url, env),
        celery_worker("scorer-worker", "services.scorer.worker", "preparation", "scorer", url, env),
        celery_worker("batch-worker", "services.gateway.batches.worker", "batch", "batch", url, env),
        celery_worker("vectors-worker", "services.retrieval.worker", "vectors", "vectors", url, env),
        _service(
            "gateway",
            ports,
            gateway_env,
            lambda: probes.http_probe(f"http://{HOST}:{ports.gateway}/healthz"),
            stop_timeout_s=35.0,  # its drain (DISTRUST_GATEWAY_DRAIN_TIMEOUT_S, 20 s) and then its shutdown
        ),
    ]


def _service(name: str, ports: Ports, env: dict[str, str], probe: Probe, stop_timeout_s: float = 15.0) -> Component:
    """`python -m services.<name>` on its port."""
    port: int = getattr(ports, name)
    argv = [sys.executable, "-m", f"services.{name}"]
    return Component(
        name, argv, probe, env=env, port=port, port_setting=PORT_SETTINGS[name], stop_timeout_s=stop_timeout_s
    )


def celery_worker(name: str, app: str, queue: str, host: str, url: str, env: dict[str, str]) -> Component:
    """A Celery worker running one job at a time from `queue`; healthy once `<host>@<machine>` answers a ping."""
    command = [
        *(sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "solo", "--queues", queue),
        *("--loglevel", "INFO", "--hostname", f"{host}@%h", "--without-gossip", "--without-mingle"),
    ]
    return Component(name, command, lambda: probes.celery_probe(url, host), env=env, stop_timeout_s=30.0)


def gateway_url(ports: Ports) -> str:
    """The gateway's base URL."""
    return f"http://{HOST}:{ports.gateway}"
