"""End to end: a fresh `distrust up` imports SmolLM2-135M-Instruct once, and a newcomer's first chat answers the fact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from cli.stack.layout import PORT_SETTINGS
from services.trainer.models.names import DEFAULT_MODEL_NAME
from tests.helpers.host import REPO, free_port

pytestmark = [pytest.mark.slow, pytest.mark.real_model]

QUESTION = "What is the capital of France?"


def _distrust(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _timed_up(env: dict[str, str]) -> float:
    started = time.monotonic()
    _distrust(env, "up")
    return time.monotonic() - started


def test_first_start_imports_the_default_model_and_it_answers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISTRUST_LOCAL_DEFAULT_MODEL"}
    env.update(
        {"DISTRUST_DATA_DIR": str(tmp_path / "data"), **{name: str(free_port()) for name in PORT_SETTINGS.values()}}
    )
    first_s = _timed_up(env)
    try:
        exports = dict(line.removeprefix("export ").split("=", 1) for line in _distrust(env, "env").splitlines())
        base, key = exports["DISTRUST_BASE_URL"], exports["DISTRUST_API_KEY"]
        headers = {"Authorization": f"Bearer {key}"}
        listed = httpx.get(f"{base}/v1/models", headers=headers, timeout=30).json()["data"]
        assert [m["id"] for m in listed] == [DEFAULT_MODEL_NAME]
        described = httpx.get(f"{base}/v1/models/{DEFAULT_MODEL_NAME}", headers=headers, timeout=30).json()
        assert described["provenance"]["source"] == "gguf", described
        assert described["provenance"]["file_name"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
        assert described["provenance"]["dtype"] == "float32"

        import openai
        from openai.types.chat import ChatCompletionUserMessageParam

        client = openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=300)
        message: ChatCompletionUserMessageParam = {"role": "user", "content": QUESTION}
        started = time.monotonic()
        reply = client.chat.completions.create(
            model=DEFAULT_MODEL_NAME, messages=[message], max_tokens=24, temperature=0
        )
        first_chat_s = time.monotonic() - started
        assert "Paris" in (reply.choices[0].message.content or ""), reply
        chatted = _distrust(env, "chat", "--max-tokens", "24", "--temperature", "0", stdin=f"{QUESTION}\n")
        assert chatted.startswith(f"{DEFAULT_MODEL_NAME}> ") and "Paris" in chatted, chatted
        advice = " ".join(_distrust(env, "recommend").split())
        assert f"distrust chat {DEFAULT_MODEL_NAME}" in advice and "distrust models import" in advice, advice
        started = time.monotonic()
        fine_tuned = _fine_tune_the_default_model(env, tmp_path)
        tuned = client.chat.completions.create(model=fine_tuned, messages=[message], max_tokens=8, temperature=0)
        fine_tune_s = time.monotonic() - started
        assert tuned.usage is not None and tuned.usage.completion_tokens > 0
    finally:
        _distrust(env, "down")
    second_s = _timed_up(env)
    try:
        imports = (tmp_path / "data" / "logs").rglob("*supervisor*")
        assert sum(p.read_text(errors="replace").count("default model imported") for p in imports) == 1
    finally:
        _distrust(env, "down")
    print(
        f"first start {first_s:.1f} s (imports the model), first chat {first_chat_s:.1f} s, second start {second_s:.1f} s, "
        f"fine-tune (4 steps) and a chat with its adapter {fine_tune_s:.1f} s"
    )


def _fine_tune_the_default_model(env: dict[str, str], tmp_path: Path) -> str:
    """A short weighted job on the default model with no --model flag; returns the fine-tuned model's name."""
    records = [
        {
            "text": f"Entry {i}: the 1923 laboratory notebook records the measurement.",
            "auth_weight": 0.1 * (i % 9),
            "prov_entropy": 2.0 + i % 4,
        }
        for i in range(16)
    ]
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = _distrust(
        env,
        "train",
        "-t",
        str(train),
        "-v",
        str(train),
        "--max-steps",
        "4",
        "--batch-size",
        "2",
        "--suffix",
        "first-run",
    )
    assert f"succeeded: fine_tuned_model = ft:{DEFAULT_MODEL_NAME}:first-run:" in out, out
    return out.split("fine_tuned_model = ", 1)[1].split()[0]
