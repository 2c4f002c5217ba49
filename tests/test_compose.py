"""compose.yaml is checked, not run (no Docker engine here): structure always, `docker-compose config` too."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.helpers.host import REPO

COMPOSE = REPO / "compose.yaml"
SECRETS = {
    "DISTRUST_STORAGE_ACCESS_KEY": "ak-test",
    "DISTRUST_STORAGE_SECRET_KEY": "sk-test-123456",
    "DISTRUST_REDIS_PASSWORD": "pw",
    "DISTRUST_GATEWAY_API_KEYS": "k=o",
    "DISTRUST_GATEWAY_KEY_SECRET": "a-deployment-secret",
}


def _compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_every_part_is_defined_with_a_healthcheck(spec: dict) -> None:
    services = spec["services"]
    assert {
        "minio",
        "redis",
        "scorer",
        "scorer-worker",
        "batch-worker",
        "vectors-worker",
        "trainer",
        "worker",
        "inference",
        "gateway",
    } <= set(services)
    nodes = [services[f"minio{i}"] for i in range(1, 5)]  # distributed MinIO: four nodes behind one endpoint
    assert all(n["image"].startswith("minio/minio:") and n["command"][1] == "http://minio{1...4}/data" for n in nodes)
    assert services["minio"]["image"].startswith("nginx:") and len(services["minio"]["depends_on"]) == 4
    for name, service in services.items():
        assert "healthcheck" in service, name
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services and condition == {"condition": "service_healthy"}, (name, dependency)


def test_volumes_are_declared(spec: dict) -> None:
    declared = set(spec["volumes"])
    for name, service in spec["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert (REPO / source).is_file() if source.startswith("./") else source in declared, (name, volume)


def test_services_run_modules_that_exist(spec: dict) -> None:
    for name in ("scorer", "trainer", "inference", "gateway"):
        command = spec["services"][name]["command"]
        module = command[command.index("-m") + 1]
        assert (REPO / module.replace(".", "/") / "__main__.py").exists(), module


def test_secrets_have_no_defaults(spec: dict) -> None:
    text = COMPOSE.read_text()
    for variable in SECRETS:
        assert f"${{{variable}:?" in text and f"${{{variable}:-" not in text, variable
    assert spec["x-service-env"]["DISTRUST_ENV"] == "production"


def test_docker_compose_config_accepts_the_file() -> None:
    command = _compose_command()
    if command is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install a compose CLI (.ci/run installs Debian's docker-compose)")
        pytest.skip("no docker-compose or `docker compose` on this machine; .ci/run installs it")
    env = {**os.environ, **SECRETS}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "--profile", "mlx", "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    missing = {k: v for k, v in env.items() if k != "DISTRUST_REDIS_PASSWORD"}
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=dict(missing.items()),
        cwd=REPO,
    )
    assert result.returncode != 0 and "DISTRUST_REDIS_PASSWORD" in result.stderr


def test_no_secret_on_a_command_line(spec: dict) -> None:
    """`ps` shows command lines to everyone on the host: secrets go through the environment or files."""
    for name, service in spec["services"].items():
        command = " ".join(service.get("command") or [])
        for variable in SECRETS:
            assert variable not in command, (name, variable)
        assert "--requirepass" not in command, name
    assert "--appendonly yes" in " ".join(spec["services"]["redis"]["command"])
