"""End to end: `distrust up` brings the whole stack up healthy, files round-trip, `distrust down` leaves nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from support import REPO, free_port

pytestmark = pytest.mark.slow


def _env(data_dir: Path) -> dict[str, str]:
    ports = {"DISTRUST_GATEWAY_PORT", "DISTRUST_SCORER_PORT", "DISTRUST_TRAINER_PORT", "DISTRUST_INFERENCE_PORT",
             "DISTRUST_LOCAL_REDIS_PORT", "DISTRUST_LOCAL_STORAGE_PORT"}
    return {**os.environ, "DISTRUST_DATA_DIR": str(data_dir), **{name: str(free_port()) for name in ports}}


def _distrust(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=180)
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _stack_pids(data_dir: Path) -> list[int]:
    found = []
    for proc in psutil.process_iter(["pid", "cmdline", "environ"]):
        try:
            if (proc.info["environ"] or {}).get("DISTRUST_DATA_DIR") == str(data_dir) or \
                    str(data_dir) in " ".join(proc.info["cmdline"] or []):
                found.append(proc.pid)
        except (psutil.AccessDenied, psutil.NoSuchProcess):
            continue
    return found


def test_up_status_files_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _env(data_dir)
    started = time.monotonic()
    up = _distrust(env, "up")
    startup_s = time.monotonic() - started
    try:
        assert "api key: sk-distrust-" in up.stdout
        status = _distrust(env, "status")
        for part in ("redis", "storage", "scorer", "trainer", "inference", "worker", "gateway"):
            assert part in status.stdout
        exports = dict(line.removeprefix("export ").split("=", 1)
                       for line in _distrust(env, "env").stdout.strip().splitlines())
        base, key = exports["DISTRUST_BASE_URL"], exports["DISTRUST_API_KEY"]
        assert base == f"http://127.0.0.1:{env['DISTRUST_GATEWAY_PORT']}"
        headers = {"Authorization": f"Bearer {key}"}
        ready = httpx.get(f"{base}/readyz", headers=headers, timeout=10)
        assert ready.status_code == 200, ready.text
        assert {name: c["status"] for name, c in ready.json()["checks"].items()} == {
            "redis": "ok", "storage": "ok", "scorer": "ok", "trainer": "ok", "inference": "ok"}
        data = b'{"text": "one", "auth_weight": 0.1, "prov_entropy": 6.0}\n{"text": "two"}\n'
        created = httpx.post(f"{base}/v1/files", headers=headers, data={"purpose": "fine-tune"},
                             files={"file": ("t.jsonl", data)}, timeout=30)
        assert created.status_code == 200, created.text
        file_id = created.json()["id"]
        assert httpx.get(f"{base}/v1/files/{file_id}/content", headers=headers).content == data
        # A second `up` while running reports the running stack instead of starting another.
        assert "already running" in _distrust(env, "up").stdout
    finally:
        _distrust(env, "down", check=False)
    time.sleep(0.5)
    assert _stack_pids(data_dir) == []
    assert _distrust(env, "status", check=False).returncode != 0
    print(f"stack start-up: {startup_s:.1f} s")

    # Data persists across down/up.
    _distrust(env, "up")
    try:
        listing = httpx.get(f"{base}/v1/files", headers=headers, timeout=10).json()
        assert [f["id"] for f in listing["data"]] == [file_id]
    finally:
        _distrust(env, "down")
    assert _stack_pids(data_dir) == []


def test_busy_port_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    import socket

    env = _env(tmp_path / "data")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", int(env["DISTRUST_SCORER_PORT"])))
        sock.listen()
        result = _distrust(env, "up", check=False)
    assert result.returncode != 0
    assert "DISTRUST_SCORER_PORT" in result.stderr + result.stdout
    assert _stack_pids(tmp_path / "data") == []
