"""End to end: a fresh `distrust up` imports SmolLM2-135M-Instruct once, and a newcomer's first chat answers the fact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

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
        assert [m["id"] for m in listed if m["kind"] == "base"] == [DEFAULT_MODEL_NAME]
        assert [m["id"] for m in listed if m["kind"] == "embedding"] == ["wordllama-l2-supercat-256"]
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
        store_id = _grounded_chat_on_the_fine_tuned_model(client, fine_tuned)
        started = time.monotonic()
        _prefer_by_provenance(env, client, fine_tuned, tmp_path, store_id)
        preference_s = time.monotonic() - started
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
        f"fine-tune (4 steps) and a chat with its adapter {fine_tune_s:.1f} s, "
        f"batch -> pairs -> DPO -> chat -> side-by-side evaluation {preference_s:.1f} s"
    )


SOURCE_QUESTIONS = [
    "In one sentence: to learn how high the {0} flood of 1871 rose, would you read the keeper's original logbook "
    "or a modern encyclopedia article? Say why.",
    "In one sentence: to check what a delegate said in {0} in 1783, would you trust his diary written that evening "
    "or the official textbook summary? Say why.",
]
PLACES = ("Porto", "Bergen", "Riga")


def _grounded_chat_on_the_fine_tuned_model(client: Any, fine_tuned: str) -> str:
    """A vector store of two files (SDK), then a chat on the fine-tuned real model with retrieval: citations."""
    texts = {
        "logbook.txt": "The keeper's logbook, 3 March 1871: the flood rose to 4.2 metres at the north gauge by noon.",
        "summary.txt": "An encyclopedia article says the flood of 1871 was large, according to official sources.",
    }
    ids = [client.files.create(file=(name, text.encode()), purpose="assistants").id for name, text in texts.items()]
    store = client.vector_stores.create(name="floods", file_ids=ids)
    deadline = time.monotonic() + 300
    while store.status == "in_progress" and time.monotonic() < deadline:
        time.sleep(0.5)
        store = client.vector_stores.retrieve(store.id)
    assert store.status == "completed" and store.file_counts.completed == 2, store
    reply = client.chat.completions.create(
        model=fine_tuned,
        messages=[{"role": "user", "content": "How high did the flood of 1871 rise at the north gauge?"}],
        max_tokens=16,
        temperature=0,
        extra_body={"retrieval": {"vector_store_ids": [store.id], "max_num_results": 2, "distrust": 0.5}},
    )
    citations = reply.model_extra["citations"]
    assert [c["filename"] for c in citations][0] == "logbook.txt" and len(citations) == 2, citations
    assert reply.usage is not None and reply.usage.prompt_tokens > 40  # the chunks were in the prompt
    return str(store.id)


def _prefer_by_provenance(env: dict[str, str], client: Any, sft_model: str, tmp_path: Path, store_id: str) -> None:
    """Seed 004's preference phases on the real model: answers sampled n=3 in a batch (SDK), pairs by provenance
    (CLI), a DPO job from the SFT job's model (CLI), its model served (SDK), one side-by-side evaluation (HTTP)
    with v2 + RAG (the same source-preference items asked after the store's chunks)."""
    prompts = [q.format(place) for q in SOURCE_QUESTIONS for place in PLACES]
    lines = [
        {
            "custom_id": f"q{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {
                "model": DEFAULT_MODEL_NAME,
                "messages": [{"role": "user", "content": prompt}],
                "n": 3,
                "max_tokens": 40,
                "temperature": 1.0,
                "seed": i,
            },
        }
        for i, prompt in enumerate(prompts)
    ]
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(json.dumps(line) + "\n" for line in lines))
    uploaded = client.files.create(file=requests, purpose="batch")
    batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
    deadline = time.monotonic() + 600
    while batch.status not in ("completed", "failed", "cancelled", "expired") and time.monotonic() < deadline:
        time.sleep(1)
        batch = client.batches.retrieve(batch.id)
    assert batch.status == "completed" and batch.request_counts.completed == len(prompts), batch
    pairs = _distrust(env, "pairs", batch.id, "--val-fraction", "0", "-o", str(tmp_path / "pairs"))
    assert "pairs from 6 prompts" in pairs, pairs
    trained = _distrust(
        env,
        "train",
        "-t",
        str(tmp_path / "pairs" / "train.jsonl"),
        "--model",
        sft_model,
        "--method",
        "dpo",
        "--beta",
        "0.1",
        "--max-steps",
        "2",
        "--batch-size",
        "2",
        "--suffix",
        "dpo-run",
    )
    assert f"succeeded: fine_tuned_model = ft:{DEFAULT_MODEL_NAME}:dpo-run:" in trained, trained
    dpo_model = trained.split("fine_tuned_model = ", 1)[1].split()[0]
    job = client.fine_tuning.jobs.list(limit=1).data[0]
    assert job.method.type == "dpo" and job.model == sft_model and job.method.dpo.hyperparameters.beta == 0.1
    reply = client.chat.completions.create(
        model=dpo_model, messages=[{"role": "user", "content": prompts[0]}], max_tokens=8, temperature=0
    )
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    retrieval = {"vector_store_ids": [store_id], "max_num_results": 2}
    tasks = [
        {"type": "source_preference", "limit": 4},
        {"type": "source_preference", "name": "source_preference_rag", "limit": 4, "retrieval": retrieval},
        {"type": "generation", "prompts": prompts[:2], "n": 2, "max_tokens": 12},
    ]
    evaluation = client.post(
        "/evals",
        cast_to=object,
        body={"models": [dpo_model, sft_model], "include_base": True, "tasks": tasks, "seed": 3},
    )
    eval_id = evaluation["id"]
    deadline = time.monotonic() + 600
    while evaluation["status"] not in ("succeeded", "failed", "cancelled") and time.monotonic() < deadline:
        time.sleep(1)
        evaluation = client.get(f"/evals/{eval_id}", cast_to=object)
    assert evaluation["status"] == "succeeded", evaluation
    summary = evaluation["summary"]
    assert sorted(summary["models"]) == sorted([dpo_model, sft_model, DEFAULT_MODEL_NAME]), summary
    assert set(summary["metrics"]["generation.answers"].values()) == {4}, summary
    assert all(v is not None for v in summary["metrics"]["source_preference.accuracy"].values()), summary
    assert all(v is not None for v in summary["metrics"]["source_preference_rag.accuracy"].values()), summary


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
