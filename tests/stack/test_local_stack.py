"""End to end: `distrust up` brings the whole stack up healthy, files round-trip, `distrust down` leaves nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from cli.stack.layout import PORT_SETTINGS
from services.trainer.models.names import TINY_MODEL_NAME
from tests.helpers.host import REPO, free_port, stack_processes

pytestmark = pytest.mark.slow


def _env(data_dir: Path) -> dict[str, str]:
    ports = {name: str(free_port()) for name in PORT_SETTINGS.values()}
    # The tiny random model keeps this test fast; test_default_model.py runs the real default.
    return {**os.environ, "DISTRUST_DATA_DIR": str(data_dir), "DISTRUST_LOCAL_DEFAULT_MODEL": TINY_MODEL_NAME, **ports}


def _distrust(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _secrets_kept_private(data_dir: Path) -> None:
    """No secret on a process's command line (`ps` shows it to every user); the data folder is the user's only."""
    secrets = json.loads((data_dir / "secrets.json").read_text())
    gateway_only = {secrets["api_key"], secrets["key_secret"]}
    checked = 0
    for pid in stack_processes(data_dir):
        try:
            args = psutil.Process(pid).cmdline()
            cmdline = " ".join(args)
            environ = " ".join(psutil.Process(pid).environ().values())
        except psutil.NoSuchProcess:
            continue
        for name, value in secrets.items():
            assert value not in cmdline, (name, cmdline)
        if "services.gateway" not in args and "DISTRUST_STORAGE_ENDPOINT" in psutil.Process(pid).environ():
            checked += 1
            assert not any(value in environ for value in gateway_only), cmdline  # least privilege
    assert checked >= 5, checked
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((data_dir / "secrets.json").stat().st_mode) == 0o600
    written = [p for p in (data_dir / "redis").rglob("*") if p.is_file()]
    assert written and all(stat.S_IMODE(p.stat().st_mode) & 0o077 == 0 for p in written), written


def _managed_key_through_the_cli(env: dict[str, str], base: str, file_id: str) -> None:
    """`keys create` prints a secret that works, scoped; `keys revoke` ends it (the stack makes the key secret)."""
    created = _distrust(env, "keys", "create", "reader", "--scope", "files").stdout
    value = next(word for word in created.split() if word.startswith("sk-dt-"))
    key_id = next(word for word in created.split() if word.startswith("key_"))
    headers = {"Authorization": f"Bearer {value}"}
    assert httpx.get(f"{base}/v1/files/{file_id}", headers=headers, timeout=10).status_code == 200
    assert httpx.get(f"{base}/v1/fine_tuning/jobs", headers=headers, timeout=10).status_code == 403
    assert key_id in _distrust(env, "keys", "list").stdout
    _distrust(env, "keys", "revoke", key_id)
    time.sleep(1.0)
    assert httpx.get(f"{base}/v1/files/{file_id}", headers=headers, timeout=10).status_code == 401


def test_up_status_files_down(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = _env(data_dir)
    started = time.monotonic()
    up = _distrust(env, "up")
    startup_s = time.monotonic() - started
    try:
        assert "api key: sk-distrust-" in up.stdout
        status = _distrust(env, "status")
        for part in (
            "redis",
            "storage",
            "scorer",
            "trainer",
            "inference",
            "worker",
            "scorer-worker",
            "batch-worker",
            "vectors-worker",
            "lance-proxy",
            "gateway",
        ):
            assert part in status.stdout
        assert "BLAS: " in status.stdout
        exports = dict(
            line.removeprefix("export ").split("=", 1) for line in _distrust(env, "env").stdout.strip().splitlines()
        )
        base, key = exports["DISTRUST_BASE_URL"], exports["DISTRUST_API_KEY"]
        assert base == f"http://127.0.0.1:{env['DISTRUST_GATEWAY_PORT']}"
        headers = {"Authorization": f"Bearer {key}"}
        ready = httpx.get(f"{base}/readyz", headers=headers, timeout=10)
        assert ready.status_code == 200, ready.text
        assert {name: c["status"] for name, c in ready.json()["checks"].items()} == {
            "redis": "ok",
            "storage": "ok",
            "scorer": "ok",
            "trainer": "ok",
            "inference": "ok",
        }
        data = b'{"text": "one", "auth_weight": 0.1, "prov_entropy": 6.0}\n{"text": "two"}\n'
        created = httpx.post(
            f"{base}/v1/files",
            headers=headers,
            data={"purpose": "fine-tune"},
            files={"file": ("t.jsonl", data)},
            timeout=30,
        )
        assert created.status_code == 200, created.text
        file_id = created.json()["id"]
        assert httpx.get(f"{base}/v1/files/{file_id}/content", headers=headers).content == data
        store_id = _vector_store_through_the_stack(env, tmp_path, base, headers)
        _score_and_prepare_through_the_stack(env, tmp_path, store_id)
        _managed_key_through_the_cli(env, base, file_id)
        _secrets_kept_private(data_dir)
        # A second `up` while running reports the running stack instead of starting another.
        assert "already running" in _distrust(env, "up").stdout
    finally:
        _distrust(env, "down", check=False)
    time.sleep(0.5)
    assert stack_processes(data_dir) == []
    assert _distrust(env, "status", check=False).returncode != 0
    print(f"stack start-up: {startup_s:.1f} s")

    # Data persists across down/up.
    _distrust(env, "up")
    try:
        listing = httpx.get(f"{base}/v1/files", headers=headers, timeout=10).json()
        assert file_id in [f["id"] for f in listing["data"]]
        assert httpx.get(f"{base}/v1/files/{file_id}/content", headers=headers).content == data
        assert _searched(base, headers, store_id) == "log.txt"  # the chunks persist in the object store
    finally:
        _distrust(env, "down")
    assert stack_processes(data_dir) == []


def _vector_store_through_the_stack(env: dict[str, str], tmp_path: Path, base: str, headers: dict[str, str]) -> str:
    """`distrust stores`: a text file ingested by the vectors worker (WordLlama, LanceDB on the stack's S3), found."""
    log = tmp_path / "log.txt"
    log.write_text(
        "\n".join(f"Entry {i}: the keeper measured the tide at the north jetty, {i} marks." for i in range(300))
    )
    created = _distrust(
        env, "stores", "create", "log", str(log), "--chunk-size", "100", "--overlap", "20", "-a", "year=1923"
    )
    assert "1 files indexed, 0 failed (completed)" in created.stdout, created.stdout
    store_id = created.stdout.split("created ", 1)[1].split()[0]
    searched = _distrust(env, "stores", "search", store_id, "tide at the jetty", "--distrust", "0.5", "-w", "year=1923")
    assert "log.txt#" in searched.stdout, searched.stdout
    chat = subprocess.run(
        [sys.executable, "-m", "cli.main", "chat", TINY_MODEL_NAME, "--store", store_id, "--max-tokens", "4"],
        cwd=REPO,
        env=env,
        input="How high was the tide at the jetty?\n/exit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0 and "  [1] log.txt#" in chat.stdout, chat.stdout + chat.stderr
    assert _searched(base, headers, store_id) == "log.txt"
    return store_id


def _searched(base: str, headers: dict[str, str], store_id: str) -> str:
    found = httpx.post(
        f"{base}/v1/vector_stores/{store_id}/search", headers=headers, json={"query": "tide at the jetty"}, timeout=30
    )
    assert found.status_code == 200 and len(found.json()["data"]) == 10, found.text
    filename: str = found.json()["data"][0]["filename"]
    return filename


def _score_and_prepare_through_the_stack(env: dict[str, str], tmp_path: Path, store_id: str) -> None:
    doc = "According to the 1923 patent, the laboratory notebook records the original measurements [1]."
    source = tmp_path / "docs.jsonl"
    source.write_text(
        "\n".join(json.dumps({"text": f"{doc} Entry {i}.", "year": 1900 + i}) for i in range(40)) + "\nnot json\n"
    )
    remote, local = tmp_path / "remote.jsonl", tmp_path / "local.jsonl"
    result = _distrust(env, "score", "--input", str(source), "--output", str(remote), check=False)
    assert result.returncode == 1 and "41 lines" in result.stdout and "1 with errors" in result.stdout
    _distrust(env, "score", "--input", str(source), "--output", str(local), "--local", check=False)
    assert remote.read_text() == local.read_text()
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(source.read_text().splitlines()[:40]) + "\n")
    out_dir = tmp_path / "prepared"
    _distrust(
        env, "prepare", str(clean), "-o", str(out_dir), "--min-length", "20", "--no-rebalance", "--val-fraction", "0.25"
    )
    report = json.loads((out_dir / "report.json").read_text())
    assert report["split"] == {"train": 30, "val": 10, "val_fraction": 0.25, "seed": 42}
    assert len((out_dir / "train.jsonl").read_text().splitlines()) == 30
    _train_through_the_stack(env, out_dir, tmp_path, store_id)


def _train_through_the_stack(env: dict[str, str], prepared: Path, tmp_path: Path, store_id: str) -> None:
    """The default model, built on first start, fine-tuned on the prepared file; the adapter opens in mlx-lm."""
    result = _distrust(
        env,
        "train",
        "-t",
        str(prepared / "train.jsonl"),
        "-v",
        str(prepared / "val.jsonl"),
        "--max-steps",
        "6",
        "--checkpoint-every",
        "3",
        "--batch-size",
        "4",
        "--suffix",
        "stack",
        "--model",
        TINY_MODEL_NAME,
    )
    assert "succeeded: fine_tuned_model = ft:distrust-tiny-llama:stack:" in result.stdout
    job_id = result.stdout.split("job ", 1)[1].split()[0]
    _distrust(env, "adapters", "pull", job_id, str(tmp_path / "adapter"))
    _distrust(env, "models", "pull", "distrust-tiny-llama", str(tmp_path / "base"))
    from mlx_lm import load

    model, tokenizer = load(str(tmp_path / "base"), adapter_path=str(tmp_path / "adapter"))
    assert tokenizer.encode("hello") and model is not None
    fine_tuned = result.stdout.split("fine_tuned_model = ", 1)[1].split()[0]
    _chat_with_the_trained_adapter(env, fine_tuned)
    _evaluate_and_export_through_the_cli(env, fine_tuned, job_id, prepared, tmp_path, store_id)
    # A "real" model is registered the same way from a local folder; it round-trips unchanged.
    assert "registered my-model" in _distrust(env, "models", "add", "my-model", str(tmp_path / "base")).stdout
    _distrust(env, "models", "pull", "my-model", str(tmp_path / "copy"))
    for path in (tmp_path / "base").iterdir():
        assert (tmp_path / "copy" / path.name).read_bytes() == path.read_bytes()
    bad = _distrust(env, "models", "add", "broken", str(tmp_path / "adapter"), check=False)
    assert bad.returncode != 0 and "config.json" in bad.stderr


def _chat_with_the_trained_adapter(env: dict[str, str], fine_tuned: str) -> None:
    """The job's adapter answers through /v1/chat/completions with the official openai SDK."""
    import openai

    exports = dict(line.removeprefix("export ").split("=", 1) for line in _distrust(env, "env").stdout.splitlines())
    client = openai.OpenAI(
        base_url=exports["DISTRUST_BASE_URL"] + "/v1", api_key=exports["DISTRUST_API_KEY"], max_retries=0
    )
    assert fine_tuned in {m.id for m in client.models.list()}
    messages = [{"role": "user", "content": "What do the letters say?"}]
    reply = client.chat.completions.create(model=fine_tuned, messages=messages, max_tokens=8, temperature=0)
    assert reply.usage.completion_tokens > 0
    chunks = list(
        client.chat.completions.create(model=fine_tuned, messages=messages, max_tokens=8, temperature=0, stream=True)
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == reply.choices[0].message.content
    base = client.chat.completions.create(model="distrust-tiny-llama", messages=messages, max_tokens=8, temperature=0)
    assert base.choices[0].message.content is not None
    chat = subprocess.run(
        [sys.executable, "-m", "cli.main", "chat", fine_tuned, "--max-tokens", "8", "--temperature", "0"],
        cwd=REPO,
        env=env,
        input="What do the letters say?\n/exit\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout.strip() == f"{fine_tuned}> {reply.choices[0].message.content}".strip()
    unknown = subprocess.run(
        [sys.executable, "-m", "cli.main", "chat", "no-such-model"],
        cwd=REPO,
        env=env,
        input="hi\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode != 0 and "no-such-model" in unknown.stderr


def _evaluate_and_export_through_the_cli(
    env: dict[str, str], fine_tuned: str, job_id: str, prepared: Path, tmp_path: Path, store_id: str
) -> None:
    """`distrust eval` (side by side with the base, + RAG, charts, report), `distrust export`, `distrust charts`."""
    charts, report = tmp_path / "charts", tmp_path / "report.json"
    queries = tmp_path / "queries.jsonl"
    queries.write_text(json.dumps({"query": "tide at the jetty", "relevant": ["log.txt"], "primary": "log.txt"}) + "\n")
    result = _distrust(
        env,
        "eval",
        fine_tuned,
        "-v",
        str(prepared / "val.jsonl"),
        "--preference",
        "--suite",
        "authority",
        "--truthfulqa",
        "sample",
        "--limit",
        "2",
        "--max-tokens",
        "4",
        "--store",
        store_id,
        "--rag-k",
        "2",
        "--retrieval-queries",
        str(queries),
        "--charts",
        str(charts),
        "-o",
        str(report),
    )
    assert "perplexity.distrust_ratio" in result.stdout and "distrust-tiny-llama" in result.stdout
    results = json.loads(report.read_text())
    assert set(results["models"]) == {"distrust-tiny-llama", fine_tuned}
    assert results["models"][fine_tuned]["truthfulqa"]["n"] == 2
    grounded = results["models"][fine_tuned]["source_preference_rag"]["results"]
    assert [len(r["sources"]) for r in grounded] == [2, 2] and grounded[0]["sources"][0].startswith("log.txt#")
    assert results["models"][fine_tuned]["suite_rag"]["n"] == 2
    assert results["models"][fine_tuned]["retrieval"]["mrr"] == 1.0 and "retrieval.mrr" in result.stdout
    for name in ("perplexity.png", "accuracy.png"):
        assert (charts / name).read_bytes().startswith(b"\x89PNG")
    exported = tmp_path / "exported"
    result = _distrust(env, "export", fine_tuned, "--quantize", "8", "--pull", str(exported))
    assert "succeeded: model = " in result.stdout
    from mlx_lm import load

    model, _ = load(str(exported))
    assert json.loads((exported / "config.json").read_text())["quantization"]["bits"] == 8 and model is not None
    _distrust(env, "charts", job_id, "--out", str(charts))
    assert (charts / f"{job_id}-loss.png").read_bytes().startswith(b"\x89PNG")
    refused = _distrust(env, "eval", "no-such-model", check=False)
    assert refused.returncode == 1 and "no-such-model" in refused.stderr


def test_busy_port_is_an_error_naming_the_setting(tmp_path: Path) -> None:
    import socket

    env = _env(tmp_path / "data")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", int(env["DISTRUST_SCORER_PORT"])))
        sock.listen()
        result = _distrust(env, "up", check=False)
    assert result.returncode != 0
    assert "DISTRUST_SCORER_PORT" in result.stderr + result.stdout
    assert stack_processes(tmp_path / "data") == []
