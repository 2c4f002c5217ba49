"""kill -9 of each component of a running stack, one after another, while a fine-tuning job trains; then of the
worker during an export and an evaluation.

While a component is down, clients get an answer at once: 200, or a 503 with Retry-After and OpenAI's error
body (a killed gateway: a refused connection). The supervisor restarts each one; the job ends `succeeded` with
each step's metrics event once and in order; no file, job record or event is lost.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.stack import OurStack, wait_for_status

pytestmark = pytest.mark.slow

TINY = "distrust-tiny-llama"
# Each probe touches what a component serves: Redis (records), S3 (contents), the trainer, inference, scorer.
KILLED = ("redis", "storage", "trainer", "inference", "scorer", "scorer-worker", "batch-worker", "gateway", "worker")


def _records(n: int) -> bytes:
    rows = [
        {
            "text": f"Field notebook {i}: measured the river at dawn.",
            "auth_weight": 0.1 + 0.8 * (i % 2),
            "prov_entropy": 5.0,
        }
        for i in range(n)
    ]
    return "\n".join(json.dumps(r) for r in rows).encode() + b"\n"


def _state(data_dir: Path) -> dict[str, Any]:
    state: dict[str, Any] = json.loads((data_dir / "run" / "stack.json").read_text())
    return state


def _pid(data_dir: Path, component: str) -> int:
    pid: int = _state(data_dir)["components"][component]["pid"]
    return pid


def _probes(client: httpx.Client, file_id: str, job_id: str) -> dict[str, Callable[[], httpx.Response]]:
    chat = {"model": TINY, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    return {
        "job": lambda: client.get(f"/v1/fine_tuning/jobs/{job_id}"),
        "file": lambda: client.get(f"/v1/files/{file_id}"),
        "content": lambda: client.get(f"/v1/files/{file_id}/content"),
        "chat": lambda: client.post("/v1/chat/completions", json=chat),
        "score": lambda: client.post("/v1/score", json={"documents": [{"text": "A letter of 1871."}]}),
    }


def _probe_while_down(component: str, probes: dict[str, Callable[[], httpx.Response]]) -> list[str]:
    """Every probe answers within 15 s: 200, or a 503 with Retry-After and an OpenAI error; what was wrong."""
    wrong = []
    for name, probe in probes.items():
        started = time.monotonic()
        try:
            response = probe()
        except httpx.TransportError as exc:
            if component != "gateway":
                wrong.append(f"{component} down, {name}: {type(exc).__name__}")
            continue
        took = time.monotonic() - started
        if took > 15:
            wrong.append(f"{component} down, {name}: answered after {took:.1f} s")
        if response.status_code == 200:
            continue
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if response.status_code != 503 or not response.headers.get("retry-after") or not error.get("message"):
            wrong.append(f"{component} down, {name}: {response.status_code} {response.text[:300]}")
        if "Traceback" in response.text:
            wrong.append(f"{component} down, {name}: a traceback")
    return wrong


def _wait_restarted(client: httpx.Client, data_dir: Path, component: str, old_pid: int, killed_at: float) -> float:
    """Seconds from the kill until the component runs again and /readyz is 200."""
    while time.monotonic() - killed_at < 90:
        try:
            if _pid(data_dir, component) != old_pid and client.get("/readyz").status_code == 200:
                return time.monotonic() - killed_at
        except (httpx.TransportError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{component} was not restarted within 90 s")


def _job_status(client: httpx.Client, job_id: str) -> str:
    """The job's status, asking again while the answer is a 503 (a backend just restarted) for up to 15 s."""
    deadline = time.monotonic() + 15
    while True:
        response = client.get(f"/v1/fine_tuning/jobs/{job_id}")
        if response.status_code != 503 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            status: str = response.json()["status"]
            return status
        time.sleep(float(response.headers.get("retry-after", "1")))


def _wait_for_checkpoint(client: httpx.Client, job_id: str) -> None:
    deadline = time.monotonic() + 180
    while not client.get(f"/v1/fine_tuning/jobs/{job_id}/checkpoints").json()["data"]:
        assert time.monotonic() < deadline, "no checkpoint within 180 s"
        time.sleep(0.5)


def _kill_worker_during(client: httpx.Client, data_dir: Path, path: str, created: dict[str, Any]) -> dict[str, Any]:
    """Kill the trainer's worker just after a job of `path` started; it must still succeed."""
    deadline = time.monotonic() + 60
    while client.get(f"{path}/{created['id']}").json()["status"] == "queued":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    pid = _pid(data_dir, "worker")
    os.kill(pid, signal.SIGKILL)
    done: dict[str, Any] = wait_for_status(client, f"{path}/{created['id']}", timeout_s=300)
    assert done["status"] == "succeeded", done
    return done


def test_every_component_killed_mid_job_loses_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with OurStack(tmp_path) as stack, stack.client(timeout_s=60) as client:
        content = _records(64)
        file_id = client.post(
            "/v1/files", data={"purpose": "fine-tune"}, files={"file": ("train.jsonl", content)}
        ).json()["id"]
        hyperparameters = {
            "n_epochs": 100,
            "batch_size": 4,
            "max_steps": 600,
            "checkpoint_every_steps": 25,
            "max_seq_length": 64,
        }
        job = client.post(
            "/v1/fine_tuning/jobs",
            json={"model": TINY, "training_file": file_id, "hyperparameters": hyperparameters, "suffix": "kills"},
        ).json()
        job_id = job["id"]
        probes = _probes(client, file_id, job_id)
        deadline = time.monotonic() + 120
        while client.get(f"/v1/fine_tuning/jobs/{job_id}").json()["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)

        wrong: list[str] = []
        restarts: dict[str, float] = {}
        for component in KILLED:
            if component == "worker":  # so that the job resumes from a checkpoint, not from its start
                _wait_for_checkpoint(client, job_id)
            status = _job_status(client, job_id)
            assert status == "running", f"the job was {status} before {component} was killed: make it longer"
            old = _pid(data_dir, component)
            os.kill(old, signal.SIGKILL)
            killed_at = time.monotonic()
            time.sleep(0.3)
            wrong += _probe_while_down(component, probes)
            restarts[component] = _wait_restarted(client, data_dir, component, old, killed_at)
        assert wrong == [], wrong

        done = wait_for_status(client, f"/v1/fine_tuning/jobs/{job_id}", timeout_s=600)
        assert done["status"] == "succeeded", (done, restarts)
        events = client.get(f"/v1/fine_tuning/jobs/{job_id}/events", params={"limit": 10_000}).json()["data"]
        steps = [e["data"]["step"] for e in reversed(events) if e["type"] == "metrics"]
        assert steps == list(range(1, 601)), "each step's metrics once, in order, across every kill"
        assert any(e["message"].startswith("Resumed from checkpoint") for e in events)
        assert client.get(f"/v1/files/{file_id}/content").content == content

        # The worker killed mid-export and mid-evaluation: each job resumes and succeeds.
        model = done["fine_tuned_model"]
        export = client.post("/v1/models/export", json={"model": model, "name": "after-kills"}).json()
        _kill_worker_during(client, data_dir, "/v1/models/exports", export)
        evaluation = client.post(
            "/v1/evals", json={"models": [model], "tasks": [{"type": "suite", "suite": "authority"}]}
        ).json()
        _kill_worker_during(client, data_dir, "/v1/evals", evaluation)
        print(f"seconds from kill -9 to ready again: { {c: round(s, 1) for c, s in restarts.items()} }")
