"""SIGTERM drains the gateway: the stream in flight finishes whole, a new request meanwhile gets a prompt 503
with Retry-After, and the supervisor starts the gateway again."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx
import psutil
import pytest

from bench.stack import OurStack
from tests.helpers.host import stack_processes

pytestmark = pytest.mark.slow


def _gateway_pid(data_dir: Path) -> int:
    for pid in stack_processes(data_dir):
        try:
            if "services.gateway" in psutil.Process(pid).cmdline():  # `-m services.gateway`, not its batch worker
                return pid
        except psutil.NoSuchProcess:
            continue
    raise AssertionError("no gateway process")


def test_sigterm_lets_the_stream_finish_and_refuses_new_requests(tmp_path: Path) -> None:
    with OurStack(tmp_path) as stack, stack.client(timeout_s=120) as client:
        body = {
            "model": "distrust-tiny-llama",
            "messages": [{"role": "user", "content": "Tell the whole story."}],
            "max_tokens": 1500,
            "logit_bias": {"2": -100, "6": -100},  # the tiny model's <|eos|> and <|end|>: no early stop
            "stream": True,
        }
        started = threading.Event()
        lines: list[str] = []

        def stream() -> None:
            with client.stream("POST", "/v1/chat/completions", json=body) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    if line:
                        lines.append(line)
                        started.set()

        reader = threading.Thread(target=stream)
        reader.start()
        assert started.wait(60), "the stream never started"
        pid = _gateway_pid(tmp_path / "data")
        os.kill(pid, signal.SIGTERM)
        time.sleep(0.2)
        asked = time.monotonic()
        refused = client.get("/v1/models")
        assert time.monotonic() - asked < 1.0
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"] == "2" and refused.json()["error"]["code"] == "shutting_down"
        reader.join(120)
        assert not reader.is_alive()
        chunks = [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: {")]
        assert lines[-1] == "data: [DONE]" and chunks[-1]["choices"][0]["finish_reason"] == "length"
        assert sum(1 for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")) > 20

        deadline = time.monotonic() + 60
        while True:  # the supervisor starts it again
            try:
                if client.get("/healthz").status_code == 200 and _gateway_pid(tmp_path / "data") != pid:
                    break
            except (httpx.HTTPError, AssertionError):
                pass
            assert time.monotonic() < deadline, "the gateway was not restarted"
            time.sleep(0.5)
